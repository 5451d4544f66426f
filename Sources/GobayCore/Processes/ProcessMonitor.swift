import CGobay
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One thread for the whole process, blocked in epoll_wait over the pipes and pidfds of every
/// running child (and the timers of their deadlines), which wakes the task waiting on each.
/// Tasks never block on a child: they suspend until the monitor says a descriptor is ready or a
/// timer is due. This is how swift-subprocess waits on Linux; gobay keeps its own spawn
/// (clone3 into a cgroup, as another user) and so its own monitor.
final class ProcessMonitor: Sendable {
    /// The monitor, started on first use; nil only when the kernel refuses epoll or eventfd.
    static let shared: ProcessMonitor? = ProcessMonitor()

    private struct State {
        var nextToken: UInt64 = 1
        var descriptors: [UInt64: ProcessWatch] = [:]
        var timers: [ObjectIdentifier: (at: Date, watch: ProcessWatch)] = [:]
        var jobs: [@Sendable () -> Void] = []
    }

    private let epoll: Int32
    /// Written to when a timer is set, so epoll_wait recomputes its timeout.
    private let wakeFD: Int32
    private let state = Mutex(State())

    private init?() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard epoll >= 0, wakeFD >= 0 else { return nil }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = 0
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, wakeFD, &event) == 0 else { return nil }
        let thread = Thread { [self] in loop() }
        thread.name = "gobay-process-monitor"
        thread.start()
    }

    /// Reports `fd` to `watch` once when it is readable (or at hang-up); `rearm` asks again.
    func add(_ fd: Int32, to watch: ProcessWatch) -> UInt64 {
        let token = state.withLock { state -> UInt64 in
            let token = state.nextToken
            state.nextToken += 1
            state.descriptors[token] = watch
            return token
        }
        watch.register(fd: fd, token: token)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLONESHOT.rawValue
        event.data.u64 = token
        if epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0 {
            // Not pollable (cannot happen for pipes and pidfds): report it ready at once.
            watch.post(.ready(fd))
        }
        return token
    }

    /// Asks for the next readiness of `fd`.
    func rearm(_ fd: Int32, token: UInt64) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLONESHOT.rawValue
        event.data.u64 = token
        _ = epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event)
    }

    /// Stops watching `fd` (before it is closed).
    func remove(_ fd: Int32, token: UInt64) {
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
        _ = state.withLock { $0.descriptors.removeValue(forKey: token) }
    }

    /// Runs `job` on the monitor's thread, which lives as long as gobay. Children are spawned
    /// there: the kernel counts a child's parent as the thread that made it, and bwrap's
    /// `--die-with-parent` (PR_SET_PDEATHSIG) would kill a sandbox whose spawning thread ended, as
    /// a pool thread may while the step runs.
    func perform(_ job: @escaping @Sendable () -> Void) {
        state.withLock { $0.jobs.append(job) }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Posts `.timer` to `watch` at `date` (replacing its earlier timer); nil clears it.
    func setTimer(_ date: Date?, for watch: ProcessWatch) {
        state.withLock { state in
            if let date { state.timers[ObjectIdentifier(watch)] = (date, watch) } else {
                state.timers.removeValue(forKey: ObjectIdentifier(watch))
            }
        }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private func loop() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            for job in state.withLock({ state in defer { state.jobs = [] }; return state.jobs }) { job() }
            let due = dueTimers()
            for watch in due.fired { watch.post(.timer) }
            let timeout = due.next.map { Int32(max(0, min($0.timeIntervalSinceNow * 1000 + 1, 60_000))) } ?? -1
            let count = epoll_wait(epoll, &events, Int32(events.count), timeout)
            if count < 0 { continue }  // EINTR
            for event in events.prefix(Int(count)) {
                let token = event.data.u64
                if token == 0 {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    continue
                }
                if let watch = state.withLock({ $0.descriptors[token] }) { watch.post(token: token) }
            }
        }
    }

    /// Removes and returns the timers that are due, and the next one.
    private func dueTimers() -> (fired: [ProcessWatch], next: Date?) {
        state.withLock { state in
            let now = Date()
            var fired: [ProcessWatch] = []
            for (key, timer) in state.timers where timer.at <= now {
                fired.append(timer.watch)
                state.timers.removeValue(forKey: key)
            }
            return (fired, state.timers.values.map(\.at).min())
        }
    }
}

/// The mailbox of one supervised child: the monitor posts descriptor readiness and timers,
/// a task cancellation handler posts `.cancel`, and the supervising task takes them in order.
/// Its wait ignores task cancellation on purpose: a cancelled build still waits for its killed
/// processes to end.
final class ProcessWatch: Sendable {
    enum Event: Sendable {
        case ready(Int32)
        case timer
        case cancel
    }

    private struct State {
        var events: [Event] = []
        var waiter: CheckedContinuation<Event, Never>?
        var tokens: [UInt64: Int32] = [:]
    }

    private let state = Mutex(State())

    func register(fd: Int32, token: UInt64) { state.withLock { $0.tokens[token] = fd } }

    func post(token: UInt64) {
        guard let fd = state.withLock({ $0.tokens[token] }) else { return }
        post(.ready(fd))
    }

    func post(_ event: Event) {
        let waiter = state.withLock { state -> CheckedContinuation<Event, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.events.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// The next event, waiting for it if none is queued.
    func next() async -> Event {
        await withCheckedContinuation { continuation in
            let event = state.withLock { state -> Event? in
                if !state.events.isEmpty { return state.events.removeFirst() }
                state.waiter = continuation
                return nil
            }
            if let event { continuation.resume(returning: event) }
        }
    }
}
