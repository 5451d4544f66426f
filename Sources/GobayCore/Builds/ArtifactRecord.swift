import Foundation

/// One stored build artifact.
public struct ArtifactRecord: Sendable, Codable, Equatable {
    /// The file name under the build's artifacts dir.
    public var name: String
    /// The absolute path.
    public var path: String
    /// The hex SHA-256 of the file.
    public var sha256: String
    /// Its size in bytes.
    public var size: Int64
    /// The GOOS it was built for.
    public var goos: String
    /// The GOARCH it was built for.
    public var goarch: String
}
