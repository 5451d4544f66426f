import Mustache

/// The dashboard's pages as Mustache templates, embedded in the binary. `{{name}}` is always
/// HTML-escaped by the engine; no template uses the unescaped forms (`{{{…}}}`, `{{&…}}`), which a
/// test checks. Every page starts with the `head` partial and ends with `foot`.
enum DashboardTemplates {
    /// The library of every page, parsed once.
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in sources { try library.register(text, named: name) }
        return library
    }

    static let sources: [String: String] = [
        "head": head, "foot": foot, "overview": overview, "projects": projects, "project": project, "build": build,
        "deployments": deployments, "login": login, "message": message, "buildRows": buildRows,
    ]

    static let head = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{common.title}} · gobay</title>
        <link rel="stylesheet" href="/static/gobay.css?v={{common.assetVersion}}">
        {{#common.refresh}}<noscript><meta http-equiv="refresh" content="5"></noscript>{{/common.refresh}}
        <script src="/static/gobay.js?v={{common.assetVersion}}" defer></script>
        </head>
        <body>
        <header class="top">
        <a class="brand" href="/">gobay</a>
        <nav aria-label="main"><a href="/">Overview</a> <a href="/projects">Projects</a> <a href="/deployments">Deployments</a></nav>
        <div class="who">{{#common.loggedIn}}<form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="{{common.csrf}}"><button type="submit">Log out</button></form>{{/common.loggedIn}}{{^common.loggedIn}}<a href="/login?next={{common.path}}">Log in</a>{{/common.loggedIn}}</div>
        </header>
        <main>
        {{#common.flash}}<p class="flash" role="status">{{common.flash}}</p>{{/common.flash}}

        """

    static let foot = """
        </main>
        </body>
        </html>

        """

    /// Rows of builds: `rows` with id, project, ref, shortCommit, status, environment, trigger, age, duration.
    static let buildRows = """
        <div class="scroll"><table>
        <thead><tr><th>#</th><th>Status</th><th>Project</th><th>Ref</th><th>Commit</th><th class="hide-narrow">Environment</th><th class="hide-narrow">Trigger</th><th>Age</th><th>Duration</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td><a href="/builds/{{id}}">{{id}}</a></td><td><span class="st st-{{status}}">{{status}}</span></td><td><a href="/projects/{{project}}">{{project}}</a></td><td class="mono">{{ref}}</td><td class="mono">{{shortCommit}}</td><td class="hide-narrow">{{environment}}</td><td class="hide-narrow">{{trigger}}</td><td>{{age}}</td><td>{{duration}}</td></tr>
        {{/rows}}{{^rows}}<tr><td colspan="9" class="muted">No builds.</td></tr>
        {{/rows}}</tbody>
        </table></div>

        """

    static let overview = """
        {{> head}}<h1>Overview</h1>
        <h2>Environments</h2>
        <div class="scroll"><table>
        <thead><tr><th>Environment</th><th>Go</th><th>Executor</th><th>Busy / slots</th><th>Queued</th><th>Running</th><th>Libraries</th></tr></thead>
        <tbody>
        {{#environments}}<tr><td>{{name}}</td><td class="mono">{{go}}</td><td>{{executor}}</td><td>{{busy}} / {{concurrency}}</td><td>{{queued}}</td><td>{{running}}</td><td class="mono">{{#libraries}}{{name}}@{{commit}} {{/libraries}}{{^libraries}}<span class="muted">none</span>{{/libraries}}</td></tr>
        {{#error}}<tr><td colspan="7" class="error">{{error}}</td></tr>{{/error}}
        {{/environments}}</tbody>
        </table></div>
        <h2>Queue</h2>
        {{#queue}}{{> buildRows}}{{/queue}}
        <h2>Latest builds</h2>
        {{#latest}}{{> buildRows}}{{/latest}}
        {{> foot}}
        """

    static let projects = """
        {{> head}}<h1>Projects</h1>
        <form class="filters" method="get" action="/projects">
        <label>Name <input type="search" name="q" value="{{query}}"></label>
        <label>Status <select name="status">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select></label>
        <button type="submit">Filter</button>
        </form>
        <div class="scroll"><table>
        <thead><tr><th>Project</th><th>Environment</th><th>Last builds</th><th>Deployed</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td><a href="/projects/{{name}}">{{name}}</a></td><td>{{environment}}</td><td>{{#branches}}<div><span class="mono">{{ref}}</span> {{#build}}<a href="/builds/{{id}}"><span class="st st-{{status}}">{{status}}</span></a> <span class="mono">{{shortCommit}}</span> <span class="muted">{{age}}, {{duration}}</span>{{/build}}{{^build}}<span class="muted">never built</span>{{/build}}</div>{{/branches}}</td><td>{{#targets}}<div>{{target}}: {{#release}}<a href="/builds/{{release}}">#{{release}}</a>{{/release}}{{^release}}<span class="muted">nothing</span>{{/release}}</div>{{/targets}}</td></tr>
        {{/rows}}{{^rows}}<tr><td colspan="4" class="muted">No project matches.</td></tr>
        {{/rows}}</tbody>
        </table></div>
        <p class="pager">{{count}} projects; page {{page}} of {{pages}}{{#previous}} · <a href="{{previous}}" rel="prev">Previous</a>{{/previous}}{{#next}} · <a href="{{next}}" rel="next">Next</a>{{/next}}</p>
        {{> foot}}
        """

    static let project = """
        {{> head}}<h1>{{name}}</h1>
        <dl class="record">
        <dt>Repository</dt><dd class="mono">{{repo}}</dd>
        <dt>Environment</dt><dd>{{environment}}</dd>
        <dt>Branches</dt><dd class="mono">{{#branches}}{{.}} {{/branches}}</dd>
        </dl>
        {{#common.loggedIn}}<form class="actions" method="post" action="/projects/{{name}}/build">
        <input type="hidden" name="csrf" value="{{common.csrf}}">
        <label>Ref <input type="text" name="ref" value="{{defaultRef}}"></label>
        <button type="submit">Build</button>
        </form>{{/common.loggedIn}}
        {{#hasTargets}}<h2>Deploy targets</h2>
        <div class="scroll"><table>
        <thead><tr><th>Target</th><th>Current release</th></tr></thead>
        <tbody>
        {{#targets}}<tr><td>{{target}}</td><td>{{#release}}<a href="/builds/{{release}}">#{{release}}</a>{{/release}}{{^release}}<span class="muted">nothing deployed</span>{{/release}}</td></tr>
        {{/targets}}</tbody>
        </table></div>{{/hasTargets}}
        <h2>Builds</h2>
        {{#history}}{{> buildRows}}{{/history}}
        {{#older}}<p class="pager"><a href="/projects/{{name}}?before={{older}}">Older builds</a></p>{{/older}}
        {{> foot}}
        """

    static let build = """
        {{> head}}<h1>Build #{{id}} <span id="build-status" class="st st-{{status}}" data-status="{{status}}">{{status}}</span></h1>
        <dl class="record" id="record">
        <dt>Project</dt><dd><a href="/projects/{{project}}">{{project}}</a></dd>
        <dt>Ref</dt><dd class="mono">{{ref}}</dd>
        <dt>Commit</dt><dd class="mono">{{commit}}</dd>
        {{#message}}<dt>Message</dt><dd>{{message}}</dd>{{/message}}
        <dt>Environment</dt><dd>{{environment}}</dd>
        <dt>Go</dt><dd class="mono">{{goVersion}}</dd>
        <dt>Trigger</dt><dd>{{trigger}}</dd>
        <dt>Queued</dt><dd>{{created}}</dd>
        <dt>Duration</dt><dd>{{duration}}</dd>
        {{#error}}<dt>Error</dt><dd class="error">{{error}}</dd>{{/error}}
        {{#tests}}<dt>Tests</dt><dd>{{.}}</dd>{{/tests}}
        </dl>
        {{#common.loggedIn}}<div class="actions" id="actions">
        {{#running}}<form class="inline" method="post" action="/builds/{{id}}/cancel" data-while-running><input type="hidden" name="csrf" value="{{common.csrf}}"><button class="danger" type="submit">Cancel</button></form>{{/running}}
        <form class="inline" method="post" action="/builds/{{id}}/rebuild"><input type="hidden" name="csrf" value="{{common.csrf}}"><button type="submit">Rebuild</button></form>
        {{#deployable}}<form class="inline" method="post" action="/builds/{{id}}/deploy"><input type="hidden" name="csrf" value="{{common.csrf}}"><button type="submit">Deploy</button></form>{{/deployable}}
        </div>{{/common.loggedIn}}
        <h2>Steps</h2>
        <div class="scroll" id="steps"><table>
        <thead><tr><th>Step</th><th>Status</th><th>Time</th></tr></thead>
        <tbody>
        {{#steps}}<tr><td>{{name}}</td><td><span class="st st-{{status}}">{{status}}</span></td><td>{{duration}}</td></tr>
        {{/steps}}{{^steps}}<tr><td colspan="3" class="muted">No step has run.</td></tr>
        {{/steps}}</tbody>
        </table></div>
        {{#hasLibraries}}<h2>Libraries</h2>
        <ul>{{#libraries}}<li><span class="mono">{{name}}</span> at <span class="mono">{{commit}}</span></li>{{/libraries}}</ul>{{/hasLibraries}}
        <h2>Artifacts</h2>
        <div class="scroll" id="artifacts"><table>
        <thead><tr><th>Name</th><th>Size</th><th>SHA-256</th></tr></thead>
        <tbody>
        {{#artifacts}}<tr><td><a href="/api/v1/builds/{{buildID}}/artifacts/{{name}}">{{name}}</a></td><td>{{size}}</td><td class="mono">{{sha256}}</td></tr>
        {{/artifacts}}{{^artifacts}}<tr><td colspan="3" class="muted">None.</td></tr>
        {{/artifacts}}</tbody>
        </table></div>
        <h2>Log</h2>
        {{#truncated}}<p class="muted">The last {{shownLines}} lines; <a href="/api/v1/builds/{{id}}/log">the whole log</a>.</p>{{/truncated}}
        {{^truncated}}<p class="muted"><a href="/api/v1/builds/{{id}}/log">Raw log</a></p>{{/truncated}}
        <pre class="log" data-build="{{id}}" data-offset="{{logOffset}}"{{#running}} data-follow{{/running}}>{{#logLines}}{{.}}
        {{/logLines}}</pre>
        {{> foot}}
        """

    static let deployments = """
        {{> head}}<h1>Deployments</h1>
        <h2>What runs where</h2>
        <div class="scroll"><table>
        <thead><tr><th>Project</th><th>Target</th><th>Current release</th><th>Previous</th><th></th></tr></thead>
        <tbody>
        {{#current}}<tr><td><a href="/projects/{{project}}">{{project}}</a></td><td>{{target}}</td><td>{{#release}}<a href="/builds/{{release}}">#{{release}}</a>{{/release}}{{^release}}<span class="muted">nothing</span>{{/release}}</td><td>{{#previous}}<a href="/builds/{{previous}}">#{{previous}}</a>{{/previous}}</td><td>{{#common.loggedIn}}{{#previous}}<form class="inline" method="post" action="/deployments/rollback"><input type="hidden" name="csrf" value="{{common.csrf}}"><input type="hidden" name="project" value="{{project}}"><input type="hidden" name="target" value="{{target}}"><input type="hidden" name="build" value="{{previous}}"><button class="danger" type="submit">Roll back to #{{previous}}</button></form>{{/previous}}{{/common.loggedIn}}</td></tr>
        {{/current}}{{^current}}<tr><td colspan="5" class="muted">No project has deploy targets.</td></tr>
        {{/current}}</tbody>
        </table></div>
        <h2>History</h2>
        <div class="scroll"><table>
        <thead><tr><th>#</th><th>Status</th><th>Project</th><th>Build</th><th>Strategy</th><th>Trigger</th><th>Targets</th><th>Age</th></tr></thead>
        <tbody>
        {{#history}}<tr><td>{{id}}</td><td><span class="st st-{{status}}">{{status}}</span></td><td><a href="/projects/{{project}}">{{project}}</a></td><td><a href="/builds/{{build}}">#{{build}}</a></td><td>{{strategy}}</td><td>{{trigger}}</td><td>{{#targets}}<div>{{target}} <span class="st st-{{status}}">{{status}}</span>{{#error}} <span class="error">{{error}}</span>{{/error}}</div>{{/targets}}</td><td>{{age}}</td></tr>
        {{/history}}{{^history}}<tr><td colspan="8" class="muted">No deployments yet.</td></tr>
        {{/history}}</tbody>
        </table></div>
        {{> foot}}
        """

    static let login = """
        {{> head}}<h1>Log in</h1>
        <p>Enter one of the server's API tokens (<span class="mono">server.tokens</span>). It is checked once and not stored in the browser; the session lasts {{hours}} hours.</p>
        {{#failed}}<p class="error" role="alert">{{failed}}</p>{{/failed}}
        <form method="post" action="/login">
        <input type="hidden" name="next" value="{{next}}">
        <label>Token <input type="password" name="token" autocomplete="current-password" required></label>
        <button type="submit">Log in</button>
        </form>
        {{> foot}}
        """

    static let message = """
        {{> head}}<h1>{{heading}}</h1>
        <p>{{text}}</p>
        {{#link}}<p><a href="{{link}}">{{linkText}}</a></p>{{/link}}
        {{> foot}}
        """
}
