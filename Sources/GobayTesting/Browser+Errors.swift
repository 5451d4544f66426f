import Foundation
import GobayCore
import Synchronization

extension Browser {
    /// A command chromedriver refused or did not answer: the WebDriver error (e.g. "no such
    /// element") and its message.
    public struct WebDriverError: UserFacingError {
        /// The command without its session, e.g. "POST /element".
        public let command: String
        /// The WebDriver error code, e.g. "no such element" or "stale element reference".
        public let error: String
        /// chromedriver's message.
        public let detail: String

        /// `POST /element: no such element: Unable to locate element: …`.
        public var message: String { detail.isEmpty ? "\(command): \(error)" : "\(command): \(error): \(detail)" }
        /// What to try.
        public var hint: String? {
            switch error {
            case "no such element", "stale element reference":
                "the page may not have it yet; wait for it with waitUntil"
            case "no answer": "chromedriver may have died; see chromedriver.log in the browser's sandbox"
            default: nil
            }
        }
        /// A browser command that failed.
        public var kind: FailureKind { .failure }

        /// Whether waiting may cure it: the element is not there yet, or was replaced. chromedriver
        /// reports an element the live page replaced while a command read it as an "unknown error"
        /// from the inspector ("Node with given id does not belong to the document"): stale too.
        var meansNotYet: Bool {
            ["no such element", "stale element reference", "no such frame"].contains(error)
                || (error == "unknown error" && detail.contains("does not belong to the document"))
        }
    }

    /// Names of special keys for `sendKeys`.
    public enum Key {
        /// The Enter key (submits a form from one of its inputs).
        public static let enter = "\u{E007}"
        /// The Tab key.
        public static let tab = "\u{E004}"
        /// The Backspace key.
        public static let backspace = "\u{E003}"
    }

    /// A cookie as WebDriver describes it.
    public struct Cookie: Sendable, Equatable {
        /// The name.
        public var name: String
        /// The value.
        public var value: String
        /// The path it is sent for.
        public var path: String?
        /// The domain it is sent to (nil: the current page's).
        public var domain: String?
        /// Whether it is sent over HTTPS only.
        public var secure: Bool
        /// Whether scripts cannot see it.
        public var httpOnly: Bool
        /// When it expires, in seconds since 1970 (nil: with the session).
        public var expiry: Int?

        /// A cookie named `name`.
        public init(
            name: String, value: String, path: String? = "/", domain: String? = nil, secure: Bool = false,
            httpOnly: Bool = false, expiry: Int? = nil
        ) {
            self.name = name
            self.value = value
            self.path = path
            self.domain = domain
            self.secure = secure
            self.httpOnly = httpOnly
            self.expiry = expiry
        }

        init?(_ json: JSON) {
            guard let name = json["name"]?.string, let value = json["value"]?.string else { return nil }
            self.init(
                name: name, value: value, path: json["path"]?.string, domain: json["domain"]?.string,
                secure: json["secure"]?.bool ?? false, httpOnly: json["httpOnly"]?.bool ?? false,
                expiry: json["expiry"]?.number.map { Int($0) })
        }

        var json: JSON {
            var fields: [String: JSON] = [
                "name": .string(name), "value": .string(value), "secure": .bool(secure), "httpOnly": .bool(httpOnly),
            ]
            if let path { fields["path"] = .string(path) }
            if let domain { fields["domain"] = .string(domain) }
            if let expiry { fields["expiry"] = .number(Double(expiry)) }
            return .object(fields)
        }
    }
}
