import Foundation
import Synchronization

/// A step that ended the build, with the status the build ends in.
struct StepFailure: Error, CustomStringConvertible {
    var status: BuildStatus
    var message: String

    var description: String { message }
}
