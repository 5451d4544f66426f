import Foundation

/// How a project is built: inside GOPATH or as a module.
public enum BuildMode: String, Sendable {
    /// GO111MODULE=off, checked out into GOPATH/src/<import_path>.
    case gopath
    /// GO111MODULE=on, checked out into a per-project work dir.
    case module
    /// module when the commit has a go.mod, else gopath.
    case auto
}
