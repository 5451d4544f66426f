import Crypto
import Foundation
import GobayCore
import Logging
import Synchronization

/// The config in force, swapped whole under a lock; routes read it per request.
public final class ConfigHolder: Sendable {
    private let value: Mutex<LoadedConfig>

    /// Holds `loaded` until it is replaced.
    public init(_ loaded: LoadedConfig) { value = Mutex(loaded) }

    /// The config in force now.
    public var current: LoadedConfig { value.withLock { $0 } }

    /// Puts `loaded` in force.
    public func replace(with loaded: LoadedConfig) { value.withLock { $0 = loaded } }
}
