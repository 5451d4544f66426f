import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// A failure of the disk or of the database file that a caller can act on: a full disk goes
/// away when space is freed, a damaged file needs a person.
public enum StorageFailure: Sendable, Equatable {
    /// The disk holding the data dir is full (SQLITE_FULL, ENOSPC).
    case noSpace
    /// The database file is damaged or is not a database (SQLITE_CORRUPT, SQLITE_NOTADB).
    case damaged

    /// Classifies `error`; nil when it is neither a full disk nor a damaged file.
    public init?(_ error: any Error) {
        if let error = error as? DatabaseError {
            switch error.resultCode {
            // SQLite itself turns a write's ENOSPC into SQLITE_FULL.
            case .SQLITE_FULL: self = .noSpace
            case .SQLITE_CORRUPT, .SQLITE_NOTADB: self = .damaged
            default: return nil
            }
            return
        }
        if let error = error as? POSIXError, error.code == .ENOSPC {
            self = .noSpace
            return
        }
        if let error = error as? CocoaError, error.code == .fileWriteOutOfSpace {
            self = .noSpace
            return
        }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain && ns.code == Int(ENOSPC) {
            self = .noSpace
            return
        }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain && underlying.code == Int(ENOSPC)
        {
            self = .noSpace
            return
        }
        return nil
    }

    /// What is wrong, for an error message.
    public var problem: String {
        switch self {
        case .noSpace: return "no space left on device"
        case .damaged: return "the build history database is damaged"
        }
    }

    /// What to do about it, for the hint of an error about the file at `path`.
    public func hint(path: String) -> String {
        switch self {
        case .noSpace:
            return "free some space on the disk holding \(path)"
        case .damaged:
            return "the file is damaged: restore it from a backup or move it aside (\(path))"
        }
    }
}
