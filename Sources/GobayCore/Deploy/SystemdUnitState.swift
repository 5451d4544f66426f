import Foundation

/// A systemd unit's state as `systemctl show` prints it: whether the program of a unit that was
/// just restarted is up, still starting, or has stopped (and why).
struct SystemdUnitState: Sendable, Equatable {
    /// The properties asked for, as `--property=` takes them.
    static let properties = "ActiveState,SubState,Result,ExecMainCode,ExecMainStatus,NRestarts"

    /// `active`, `activating`, `deactivating`, `failed`, `inactive`, `reloading`, …; empty when unknown.
    var activeState = ""
    /// The unit type's own state: `running`, `exited`, `auto-restart` (between a crash and
    /// systemd's next start), `failed`, …
    var subState = ""
    /// Why the unit last stopped: `success`, `exit-code`, `signal`, `core-dump`, `start-limit-hit`, …
    var result = ""
    /// How the main process ended: 1 it exited, 2 it was killed, 3 it dumped core (CLD_*); 0 while it runs.
    var execMainCode = 0
    /// Its exit status, or the signal that killed it.
    var execMainStatus = 0
    /// How many times systemd restarted the program by itself since the last manual start.
    var restarts = 0

    /// Reads `Key=Value` lines; lines of other shapes (an error merged in) are ignored.
    init(show output: String) {
        for line in output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let value = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            switch line[..<equals] {
            case "ActiveState": activeState = value
            case "SubState": subState = value
            case "Result": result = value
            case "ExecMainCode": execMainCode = Int(value) ?? 0
            case "ExecMainStatus": execMainStatus = Int(value) ?? 0
            case "NRestarts": restarts = Int(value) ?? 0
            default: break
            }
        }
    }

    /// Whether the program has stopped since the restart: the unit is not active and not on its
    /// way there, or it is waiting for systemd's next start after a crash, or systemd has already
    /// restarted it (a program that keeps dying under `Restart=` looks active between crashes).
    var stopped: Bool {
        if restarts > 0 || subState == "auto-restart" { return true }
        return !["active", "activating", "reloading"].contains(activeState)
    }

    /// The state for an error message, e.g. `activating/auto-restart: result exit-code, the
    /// program exited with status 1, systemd restarted it 1 time`.
    var summary: String {
        var details: [String] = []
        if !result.isEmpty && result != "success" { details.append("result \(result)") }
        switch execMainCode {
        case 1 where execMainStatus != 0: details.append("the program exited with status \(execMainStatus)")
        case 2: details.append("the program was killed by signal \(execMainStatus)")
        case 3: details.append("the program dumped core on signal \(execMainStatus)")
        default: break
        }
        if restarts > 0 { details.append("systemd restarted it \(restarts) time\(restarts == 1 ? "" : "s")") }
        var state = activeState.isEmpty ? "unknown" : activeState
        if !subState.isEmpty && subState != activeState { state += "/\(subState)" }
        return details.isEmpty ? state : "\(state): \(details.joined(separator: ", "))"
    }
}
