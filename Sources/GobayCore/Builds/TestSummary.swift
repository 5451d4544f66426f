import Foundation

/// A build's test results: counts and the names of failed tests.
public struct TestSummary: Sendable, Codable, Equatable {
    /// Tests that passed (subtests count).
    public var passed: Int
    /// Tests that failed, and packages that failed without running any.
    public var failed: Int
    /// Tests that were skipped.
    public var skipped: Int
    /// `package.Test` of each failure.
    public var failedTests: [String]

    /// Creates a summary.
    public init(passed: Int, failed: Int, skipped: Int, failedTests: [String]) {
        self.passed = passed
        self.failed = failed
        self.skipped = skipped
        self.failedTests = failedTests
    }

    enum CodingKeys: String, CodingKey {
        case passed, failed, skipped
        case failedTests = "failed_tests"
    }
}
