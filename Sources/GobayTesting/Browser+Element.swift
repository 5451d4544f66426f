import Foundation
import GobayCore
import Synchronization

extension Browser {
    /// An element of the page, as WebDriver knows it; stale once the page replaces it.
    public struct Element: Sendable {
        /// The browser it belongs to.
        public let browser: Browser
        /// WebDriver's id of the element.
        public let id: String

        /// The key under which WebDriver sends and takes element ids.
        static let key = "element-6066-11e4-a52e-4f735466cecf"

        init(browser: Browser, _ json: JSON) throws {
            guard let id = json[Self.key]?.string else {
                throw GobayError.failure("chromedriver sent \(json) where an element was expected")
            }
            self.browser = browser
            self.id = id
        }

        /// The element as an argument of `executeScript`.
        public var reference: JSON { [Self.key: .string(id)] }

        /// Its rendered text ("" when it is not displayed).
        public var text: String { get throws { try command("GET", "/text").text("an element's text") } }

        /// Whether it is displayed.
        public var isDisplayed: Bool {
            get throws { try command("GET", "/displayed").bool ?? false }
        }

        /// The value of its HTML attribute `name`, or nil when it has none.
        public func attribute(_ name: String) throws -> String? {
            try command("GET", "/attribute/" + Self.pathComponent(name)).string
        }

        /// The value of its DOM property `name` (such as an input's current `value`).
        public func property(_ name: String) throws -> JSON {
            try command("GET", "/property/" + Self.pathComponent(name))
        }

        /// Scrolls it into view and clicks its centre.
        public func click() throws { try command("POST", "/click") }

        /// Types `text` into it (see `Browser.Key` for special keys).
        public func sendKeys(_ text: String) throws { try command("POST", "/value", ["text": .string(text)]) }

        /// Empties an input or a textarea.
        public func clear() throws { try command("POST", "/clear") }

        @discardableResult
        func command(_ method: String, _ path: String, _ body: JSON? = nil) throws -> JSON {
            try browser.command(method, "/element/\(id)" + path, body)
        }

        static func pathComponent(_ name: String) -> String {
            name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? name
        }
    }

    /// A JSON value, as WebDriver sends and takes them.
    public enum JSON: Sendable, Equatable, Codable, CustomStringConvertible {
        /// null (and JavaScript's undefined).
        case null
        /// true or false.
        case bool(Bool)
        /// A number.
        case number(Double)
        /// A string.
        case string(String)
        /// An array.
        case array([JSON])
        /// An object.
        case object([String: JSON])

        /// The string, if it is one.
        public var string: String? { if case .string(let value) = self { value } else { nil } }
        /// The number, if it is one.
        public var number: Double? { if case .number(let value) = self { value } else { nil } }
        /// The boolean, if it is one.
        public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
        /// The elements, if it is an array.
        public var array: [JSON]? { if case .array(let value) = self { value } else { nil } }
        /// The members, if it is an object.
        public var object: [String: JSON]? { if case .object(let value) = self { value } else { nil } }
        /// The member `key` of an object.
        public subscript(key: String) -> JSON? { object?[key] }
        /// The element at `index` of an array.
        public subscript(index: Int) -> JSON? { array.flatMap { $0.indices.contains(index) ? $0[index] : nil } }

        /// The value as JSON text.
        public var description: String {
            (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        }

        /// The string, or an error naming `what` was expected.
        func text(_ what: String) throws -> String {
            guard let string else { throw GobayError.failure("chromedriver sent \(self) as \(what)") }
            return string
        }

        /// Decodes any JSON value (booleans stay booleans: JSONDecoder reads no number as one).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([JSON].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: JSON].self))
            }
        }

        /// Encodes the value; whole numbers as integers, which chromedriver wants for sizes.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let value): try container.encode(value)
            case .number(let value):
                if value.rounded() == value, abs(value) < 9e15 {
                    try container.encode(Int64(value))
                } else {
                    try container.encode(value)
                }
            case .string(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }
    }
}
