import Foundation
import Testing

@testable import GobayCore

/// The scheduler looks at the queue at most once per 20 ms (a burst of webhooks is one look per
/// 20 ms), but a wake after a quieter spell, such as a build ending and freeing its slot, is
/// answered at once.
@Suite("scheduler: the pace of its looks at the queue")
struct SchedulerPaceTests {
    @Test func onlyWhatIsLeftOfTheIntervalIsWaited() {
        #expect(Scheduler.pause(sinceLastPass: .zero) == .milliseconds(20))
        #expect(Scheduler.pause(sinceLastPass: .milliseconds(5)) == .milliseconds(15))
        #expect(Scheduler.pause(sinceLastPass: .milliseconds(20)) == nil)
        #expect(Scheduler.pause(sinceLastPass: .milliseconds(190)) == nil)
    }
}
