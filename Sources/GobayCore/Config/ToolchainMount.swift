import Foundation

/// Where a docker environment's Go comes from.
public enum ToolchainMount: String, Sendable {
    /// The image's own Go at /usr/local/go.
    case image
    /// gobay's toolchain bind-mounted read-only at /usr/local/go.
    case mount
}
