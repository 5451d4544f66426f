import Foundation

/// Finds a key written twice in one JSON object. JSONSerialization and JSONDecoder quietly keep
/// the last of two equal keys, so `{"ref": "main", "ref": "x"}` would build `x` while a proxy or
/// a person reading the body sees `main`. Webhooks and the API refuse such bodies alike.
enum DuplicateJSONKey {
    /// The first key that appears twice in the same object of `data`, or nil. Bytes that are not
    /// JSON give nil or a meaningless answer; the parser reports those.
    static func find(in data: Data) -> String? {
        let bytes = [UInt8](data)
        var scopes: [Scope] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "{"): scopes.append(Scope(isObject: true))
            case UInt8(ascii: "["): scopes.append(Scope(isObject: false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = scopes.popLast()
            case UInt8(ascii: ","):
                if let last = scopes.indices.last, scopes[last].isObject { scopes[last].expectsKey = true }
            case UInt8(ascii: "\""):
                let key = readString(bytes, &index)
                guard let last = scopes.indices.last, scopes[last].isObject, scopes[last].expectsKey else { continue }
                scopes[last].expectsKey = false
                if !scopes[last].keys.insert(key).inserted { return String(decoding: key, as: UTF8.self) }
            default: continue
            }
        }
        return nil
    }

    /// The 400 answer to a body with `key` twice, the same for webhooks and the API.
    static func refusal(_ key: String) -> APIError {
        APIError(
            .badRequest, "the JSON body has the key \(key.debugDescription) twice",
            hint: "send each key once: JSON readers disagree about which of two equal keys counts")
    }

    /// An object or array being read.
    private struct Scope {
        var isObject: Bool
        var expectsKey = true
        var keys: Set<[UInt8]> = []

        init(isObject: Bool) { self.isObject = isObject }
    }

    /// Reads a string whose opening quote is just before `index`; returns its UTF-8 bytes with
    /// escapes decoded (keys compare as the parser will see them) and moves past the closing quote.
    private static func readString(_ bytes: [UInt8], _ index: inout Int) -> [UInt8] {
        var out: [UInt8] = []
        var pendingHighSurrogate: UInt32?
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { break }
            guard byte == UInt8(ascii: "\\"), index < bytes.count else {
                out.append(byte)
                continue
            }
            let escaped = bytes[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard index + 4 <= bytes.count,
                    let unit = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                else { continue }
                index += 4
                var scalar: UInt32 = unit
                if (0xD800...0xDBFF).contains(unit) {
                    pendingHighSurrogate = unit
                    continue
                }
                if (0xDC00...0xDFFF).contains(unit), let high = pendingHighSurrogate {
                    scalar = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)
                }
                pendingHighSurrogate = nil
                out += Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
            default: out.append(escaped)
            }
        }
        return out
    }
}
