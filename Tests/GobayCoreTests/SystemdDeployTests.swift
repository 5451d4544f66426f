import Foundation
import GobayTesting
import Testing

@testable import GobayCore

/// `restart: { systemd: UNIT }` end to end: the whole gobay binary deploys over SSH to a docker
/// container running real systemd as PID 1 and a real sshd (`SystemdTarget`), whose unit runs the
/// release from `current`.
@Suite("deploy: systemd restart in a container with systemd and sshd", .serialized)
struct SystemdDeployTests {
    /// v1 then v2 goes live under systemd; a v3 that dies at start goes back to v2 with an error
    /// naming the target and the unit; an unknown unit changes nothing; a unit at systemd's start
    /// limit still takes a good release; the container and all in it go at the end.
    @Test func deployRollBackRefuseAnUnknownUnitAndRecoverFromTheStartLimit() throws {
        let world = try SystemdWorld(label: "deploy-systemd")
        defer { world.stop() }
        let target = world.target
        #expect(try target.unitState() == "inactive", "nothing runs before the first release")

        // v1, then v2: each switched, restarted by systemd and checked over HTTP from here.
        let v1 = try world.release("v1")
        let first = try world.deploy()
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.record?.status == .succeeded && first.record?.build == v1.id)
        #expect(world.version() == "v1")
        let v2 = try world.release("v2")
        let second = try world.deploy()
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.record?.status == .succeeded && second.record?.targets.first?.previousRelease == v1.id)
        #expect(world.version() == "v2")
        #expect(try target.currentTarget() == "releases/\(v2.id)")
        #expect(try target.unitState() == "active")
        let log = try world.gobay.run(["deploy-log", String(try #require(second.record).id)]).stdout
        for step in ["prepare", "upload", "verify", "place", "switch", "restart", "health"] {
            #expect(log.contains("[web-1] \(step): done in"), "\(step): \(log)")
        }
        #expect(log.contains("[web-1] systemd: api active"), "\(log)")

        // v3 exits at start (systemd restarts it, and it exits again): gobay names the target, the
        // unit and the exit status, and puts v2 back.
        let v3 = try world.release("v3", crash: true)
        let crash = try world.deploy()
        #expect(crash.status == 1, "\(crash.stderr)")
        #expect(crash.record?.status == .rolledBack, "\(String(describing: crash.record))")
        let error = crash.record?.targets.first?.error ?? crash.stderr
        #expect(error.contains("target web-1") && error.contains("systemd unit api"), "\(error)")
        #expect(error.contains("exited with status 1"), "\(error)")
        #expect(!error.contains("rollback"), "the rollback failed: \(error)")
        #expect(world.version() == "v2")
        #expect(try target.currentTarget() == "releases/\(v2.id)")
        #expect(try target.unitState() == "active")
        #expect(try target.run(["test", "-x", "\(target.deployPath)/releases/\(v3.id)/api"]).outcome.succeeded)
        let crashLog = try world.gobay.run(["deploy-log", String(try #require(crash.record).id)]).stdout
        #expect(crashLog.contains("[web-1] rollback: done in"), "\(crashLog)")

        // A unit the target does not have: refused before anything changes there.
        let v4 = try world.release("v4")
        try world.restart(unit: "no-such-unit")
        let unknown = try world.deploy()
        #expect(unknown.status == 1, "\(unknown.stderr)")
        let refusal = unknown.record?.targets.first?.error ?? unknown.stderr
        #expect(refusal.contains("target web-1") && refusal.contains("\"no-such-unit\""), "\(refusal)")
        #expect(refusal.contains("systemd has no unit"), "\(refusal)")
        #expect(try target.currentTarget() == "releases/\(v2.id)")
        #expect(
            try !target.run(["test", "-e", "\(target.deployPath)/releases/\(v4.id)"]).outcome.succeeded,
            "v4 was uploaded")
        #expect(world.version() == "v2")
        #expect(try target.unitState() == "active")

        // v3 started by hand keeps dying until systemd gives up on it (its start limit): the
        // deploy of a good release still starts the unit.
        try world.restart(unit: target.unit)
        #expect(try target.run(["ln", "-sfn", "releases/\(v3.id)", target.deployPath + "/current"]).outcome.succeeded)
        _ = try target.run(["systemctl", "restart", "--", target.unit])
        #expect(try target.waitForUnit("failed"), "systemd did not give up on v3")
        let fixed = try world.deploy()
        #expect(fixed.status == 0, "\(fixed.record?.targets.first?.error ?? fixed.stderr)")
        #expect(world.version() == "v4")
        #expect(try target.currentTarget() == "releases/\(v4.id)")
        #expect(try target.unitState() == "active")

        // Removing the container ends everything in it.
        let pids = try target.processes()
        #expect(pids.count >= 3, "systemd, sshd and the service: \(pids)")
        world.stop()
        #expect(!target.exists)
        let living = pids.filter { kill($0, 0) == 0 || errno != ESRCH }
        #expect(living.isEmpty, "still running: \(living)")
        #expect(world.version() == "-")
    }

    /// What gobay reads from `systemctl show`: a program that is up or on its way is not stopped;
    /// one that failed, waits for systemd's next start, or was already restarted by it, is.
    @Test func unitStatesFromSystemctlShow() {
        func state(_ lines: String) -> SystemdUnitState { SystemdUnitState(show: lines) }
        let running = state("ActiveState=active\nSubState=running\nResult=success\nExecMainCode=0\nNRestarts=0\n")
        #expect(!running.stopped && running.summary == "active/running")
        #expect(!state("ActiveState=activating\nSubState=start\nNRestarts=0").stopped, "a Type=notify unit starting")
        let waiting = state(
            "Result=exit-code\nExecMainCode=1\nExecMainStatus=1\nNRestarts=0\nActiveState=activating\n"
                + "SubState=auto-restart")
        #expect(waiting.stopped)
        #expect(waiting.summary == "activating/auto-restart: result exit-code, the program exited with status 1")
        let restarted = state("ActiveState=active\nSubState=running\nResult=success\nNRestarts=2")
        #expect(restarted.stopped && restarted.summary == "active/running: systemd restarted it 2 times")
        let killed = state("ActiveState=failed\nSubState=failed\nResult=signal\nExecMainCode=2\nExecMainStatus=9")
        #expect(killed.stopped && killed.summary == "failed: result signal, the program was killed by signal 9")
        #expect(state("Failed to connect to bus").stopped && state("").summary == "unknown")
    }
}
