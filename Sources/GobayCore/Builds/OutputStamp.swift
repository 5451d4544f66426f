import CGobay
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which file a kept build output was when gobay last stored it (device, inode, birth time,
/// size), and the sha256 of the bytes gobay copied into the object store from it.
///
/// Go writes a program it links as a new file (renamed or created after removing the old one),
/// and when nothing changed it only touches the old file's times. So the same file, born at
/// the same moment, means Go did not link again, and the object is linked as the artifact
/// without reading the output. Bytes written into that same file afterwards (nothing but
/// hostile code does that) are not taken: the artifact stays the copy gobay hashed of what Go
/// wrote. A file system without birth times keeps no stamp: every output is read.
struct OutputStamp: Equatable {
    var device: UInt64
    var inode: UInt64
    var birth: Int64
    var birthNanoseconds: UInt32
    var size: Int64
    var sha256: String

    /// The stamp of the open file `fd`, whose copy hashed to `sha256`; nil without a birth time.
    init?(fd: Int32, sha256: String) {
        var identity = cgobay_file_identity()
        guard cgobay_file_identity(fd, &identity) == 0 else { return nil }
        self.init(
            device: identity.device, inode: identity.inode, birth: identity.birth_seconds,
            birthNanoseconds: identity.birth_nanoseconds, size: identity.size, sha256: sha256)
    }

    init(device: UInt64, inode: UInt64, birth: Int64, birthNanoseconds: UInt32, size: Int64, sha256: String) {
        (self.device, self.inode, self.birth, self.birthNanoseconds) = (device, inode, birth, birthNanoseconds)
        (self.size, self.sha256) = (size, sha256)
    }

    /// Whether the open file `fd` is the file this stamp was taken of.
    func describes(fd: Int32) -> Bool {
        OutputStamp(fd: fd, sha256: sha256) == self
    }

    /// The stamp's file for the output at `output`, in `directory` (gobay's).
    static func file(for output: String, in directory: String) -> String {
        directory + "/" + FileDigest.sha256(data: Data(output.utf8))
    }

    /// The stamp kept for `output`, if any.
    static func read(for output: String, in directory: String) -> OutputStamp? {
        guard let data = FileManager.default.contents(atPath: file(for: output, in: directory)) else { return nil }
        let fields = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 6, let device = UInt64(fields[0]), let inode = UInt64(fields[1]),
            let birth = Int64(fields[2]), let nanoseconds = UInt32(fields[3]), let size = Int64(fields[4]),
            fields[5].count == 64, fields[5].allSatisfy(\.isHexDigit)
        else { return nil }
        return OutputStamp(
            device: device, inode: inode, birth: birth, birthNanoseconds: nanoseconds, size: size,
            sha256: String(fields[5]))
    }

    /// Keeps this stamp for `output` (best effort: without it the next build reads the output).
    func write(for output: String, in directory: String) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        AtomicFile.writeCache(
            "\(device) \(inode) \(birth) \(birthNanoseconds) \(size) \(sha256)\n", to: Self.file(for: output, in: directory))
    }
}
