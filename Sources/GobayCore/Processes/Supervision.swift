import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What gobay knows about one running child while it reads its output: whether it has exited,
/// which pipes are still open, and whether (and when) it was told to stop. The sync and async
/// runners drive it from their own waits; it decides the signals.
struct Supervision {
    let process: SpawnedProcess
    let cgroup: StepCgroup?
    let deadline: Date?
    private(set) var status: Int32?
    private(set) var open: [Int32]
    private(set) var timedOut = false
    private(set) var canceled = false
    private var termSentAt: Date?
    private var killedHard = false

    init(process: SpawnedProcess, cgroup: StepCgroup?, readFDs: [Int32], deadline: Date?) {
        self.process = process
        self.cgroup = cgroup
        self.readFDs = readFDs
        self.open = readFDs
        self.deadline = deadline
    }

    let readFDs: [Int32]

    /// Whether the child has exited and every pipe reached EOF.
    var done: Bool { status != nil && open.isEmpty }

    /// How it ended.
    var outcome: ProcessOutcome { ProcessOutcome(status: status ?? -1, timedOut: timedOut, canceled: canceled) }

    /// When something must happen without an event: the deadline, or the SIGKILL that follows
    /// a SIGTERM the group ignored for 3 s.
    var nextWake: Date? {
        if let termSentAt { return killedHard ? nil : termSentAt.addingTimeInterval(3) }
        return deadline
    }

    /// The task was cancelled: the group gets SIGTERM.
    mutating func cancel() {
        guard termSentAt == nil else { return }
        canceled = true
        terminate()
    }

    /// Applies the deadline and the SIGKILL escalation as of now.
    mutating func tick() {
        let now = Date()
        if let termSentAt {
            if !killedHard && now.timeIntervalSince(termSentAt) >= 3 { killGroup() }
        } else if let deadline, now >= deadline {
            timedOut = true
            terminate()
        }
    }

    /// The pidfd is readable: reaps the child. Anything still holding a pipe belongs to its group.
    mutating func reap() {
        let rc = cgobay_pidfd_reap(process.pidfd)
        if rc == -EAGAIN { return }
        status = rc >= 0 ? rc : -1
        if !open.isEmpty { killGroup() }
    }

    /// Reads what `fd` has (it is readable); nil and the pipe counts as closed at EOF.
    mutating func read(_ fd: Int32, into buffer: inout [UInt8]) -> [UInt8]? {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n > 0 { return Array(buffer[0..<n]) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return [] }
        open.removeAll { $0 == fd }
        return nil
    }

    private mutating func terminate() {
        termSentAt = Date()
        kill(-process.pid, SIGTERM)
    }

    private mutating func killGroup() {
        killedHard = true
        kill(-process.pid, SIGKILL)
        cgroup?.kill()
    }
}
