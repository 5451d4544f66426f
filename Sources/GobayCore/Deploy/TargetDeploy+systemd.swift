import Foundation

/// `restart: { systemd: UNIT }`: prepare checks that systemd has the unit, the restart clears a
/// failed state first and reads the unit's state after, and the health check stops as soon as
/// the unit's program has stopped.
extension TargetDeploy {
    /// The unit, when the target restarts through systemd.
    var systemdUnit: String? {
        if case .systemd(let unit) = target.restart { return unit }
        return nil
    }

    /// Prepare's part that asks systemd whether it has the unit (`LoadState`: `loaded`,
    /// `not-found`, `masked`, `bad-setting`, …).
    func systemdPreflightPart(_ unit: String) -> [[String]] {
        [["systemctl", "show", "--property=LoadState", "--value", "--", unit]]
    }

    /// Refuses a unit systemd cannot start, before anything changes on the target.
    func systemdPreflight(_ unit: String, _ answer: RemoteResult) throws {
        let state = answer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard answer.succeeded else {
            throw failure(
                "cannot ask systemd about unit \"\(unit)\": \(answer.lastLine)",
                hint: "systemctl must work for the deploy user on the target")
        }
        switch state {
        case "loaded":
            return
        case "not-found":
            throw failure(
                "systemd has no unit \"\(unit)\"",
                hint: "install \(unit).service running \(target.path)/current/\(plan.artifact.name), then run "
                    + "systemctl daemon-reload")
        default:
            throw failure(
                "systemd cannot start unit \"\(unit)\": it is \(state.isEmpty ? "unknown" : state)",
                hint: "systemctl status \(unit) on the target says why")
        }
    }

    /// `systemctl restart`, in one round trip with `reset-failed` before it and the unit's state
    /// after. Without the reset, a unit whose last release kept dying has hit systemd's start
    /// limit, and the restart of the release gobay goes back to is refused. For a unit of
    /// `Type=simple` the restart returns once the program is started, so a program that dies at
    /// start is seen here only when it is quick; the health check watches for the rest.
    func restartSystemd(_ unit: String, _ transport: any DeployTransport) async throws {
        let results = try await transport.runParts(
            [
                [["systemctl", "reset-failed", "--", unit]], [["systemctl", "restart", "--", unit]],
                [["systemctl", "show", "--property=\(SystemdUnitState.properties)", "--", unit]],
            ], stopAtFailure: false, timed: false, deadline: minutes)
        let restarted =
            results.count > 1 ? results[1] : RemoteResult(status: 255, stdout: "the connection ended", stderr: "")
        let state = SystemdUnitState(show: results.count > 2 ? results[2].stdout : "")
        guard restarted.succeeded else {
            // systemctl's first line says what failed; the next ones point at `systemctl status`.
            var why = restarted.stdout.split(separator: "\n").first.map(String.init) ?? "exit \(restarted.status)"
            if why.hasSuffix(".") { why.removeLast() }
            throw failure(
                "systemd unit \(unit) did not restart: \(why); it is \(state.summary)", hint: journalHint(unit))
        }
        guard !state.stopped else {
            throw failure(
                "systemd unit \(unit) is not active after the restart: \(state.summary)", hint: journalHint(unit))
        }
        log.write(name, "systemd: \(unit) \(state.activeState)")
    }

    /// Between health attempts: throws once the unit's program has stopped since the restart,
    /// rather than waiting out the health check's timeout for a program that is gone.
    func checkSystemdUnitStaysUp(_ transport: any DeployTransport) async throws {
        guard let unit = systemdUnit else { return }
        let show = try await transport.run(
            ["systemctl", "show", "--property=\(SystemdUnitState.properties)", "--", unit], deadline: soon)
        guard show.succeeded else { return }
        let state = SystemdUnitState(show: show.stdout)
        if state.stopped {
            throw failure("systemd unit \(unit) stopped after the restart: \(state.summary)", hint: journalHint(unit))
        }
    }

    private func journalHint(_ unit: String) -> String { "journalctl -u \(unit) on the target says why it stopped" }
}
