import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Looks an object id up in a pack's index (`objects/pack/pack-*.idx`, version 2, SHA-1) as git
/// does: the fan-out table gives the range of ids that start with the id's first byte, and a
/// binary search over that range of the sorted id table finds it. A few small reads, however
/// large the pack; no git process.
enum PackIndex {
    /// Whether the index at `path` lists the object `id` (20 bytes). False for an index that
    /// cannot be read or is not version 2: the caller then asks git (a fetch).
    static func contains(_ id: [UInt8], indexPath path: String) -> Bool {
        guard id.count == idLength else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard let header = read(fd, at: 0, count: 8), header == [0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2] else { return false }
        // Fan-out entry b: how many ids start with a byte <= b (big-endian).
        let first = Int(id[0])
        guard let bounds = read(fd, at: 8 + 4 * max(0, first - 1), count: first == 0 ? 4 : 8) else { return false }
        func count(_ at: Int) -> Int { bounds[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        var low = first == 0 ? 0 : count(0)
        var high = first == 0 ? count(0) : count(4)
        let table = 8 + 256 * 4
        while low < high {
            let middle = (low + high) / 2
            guard let entry = read(fd, at: table + middle * idLength, count: idLength) else { return false }
            if entry == id { return true }
            if entry.lexicographicallyPrecedes(id) { low = middle + 1 } else { high = middle }
        }
        return false
    }

    /// The 20 bytes of a 40-digit hex object id; nil for anything else.
    static func bytes(ofHex hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 2 * idLength else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(idLength)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    private static let idLength = 20

    /// Exactly `count` bytes at `offset`, or nil.
    private static func read(_ fd: Int32, at offset: Int, count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { bytes -> Int in
                guard let base = bytes.baseAddress else { return -1 }
                return pread(fd, base + done, count - done, off_t(offset + done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return buffer
    }
}
