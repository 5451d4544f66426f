import Foundation
import GobayCore

/// The section names of a 64-bit little-endian ELF file, read from its section header table.
public enum ELFSections {
    /// Reads the names of every section in the ELF file at `path`.
    public static func names(atPath path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GobayError("cannot read \(path)", hint: "check that the file exists and is readable")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 64, bytes[0...3] == [0x7f, 0x45, 0x4c, 0x46], bytes[4] == 2, bytes[5] == 1 else {
            throw GobayError("\(path) is not a 64-bit little-endian ELF file", hint: "pass a Linux x86_64 binary")
        }
        func integer(_ offset: Int, _ size: Int) throws -> Int {
            guard offset >= 0, offset + size <= bytes.count else {
                throw GobayError("\(path): ELF header points past the end of the file", hint: "the file is truncated")
            }
            var value = 0
            for index in (0..<size).reversed() { value = value << 8 | Int(bytes[offset + index]) }
            return value
        }
        let tableOffset = try integer(0x28, 8)
        let entrySize = try integer(0x3A, 2)
        let count = try integer(0x3C, 2)
        let namesIndex = try integer(0x3E, 2)
        guard count > 0, namesIndex < count else { return [] }
        let namesOffset = try integer(tableOffset + namesIndex * entrySize + 0x18, 8)
        return try (0..<count).map { index in
            var at = namesOffset + (try integer(tableOffset + index * entrySize, 4))
            var name = [UInt8]()
            while at < bytes.count, bytes[at] != 0 {
                name.append(bytes[at])
                at += 1
            }
            return String(decoding: name, as: UTF8.self)
        }
    }
}
