/// Name–value pairs in the order a config lists them (an `env:` section): iterated as
/// `(name, value)` tuples, compared pair by pair.
public struct NamedValues<Value: Sendable & Equatable>: Sendable, Equatable, RandomAccessCollection,
    ExpressibleByArrayLiteral
{
    /// The pairs, in file order.
    public private(set) var pairs: [(String, Value)]

    /// Pairs from an array.
    public init(_ pairs: [(String, Value)] = []) { self.pairs = pairs }

    /// Pairs from a literal: `[("GOFLAGS", "-mod=mod")]`.
    public init(arrayLiteral elements: (String, Value)...) { pairs = elements }

    /// The first index.
    public var startIndex: Int { pairs.startIndex }
    /// One past the last index.
    public var endIndex: Int { pairs.endIndex }
    /// The pair at `position`.
    public subscript(position: Int) -> (String, Value) { pairs[position] }

    /// Adds a pair at the end.
    public mutating func append(_ pair: (String, Value)) { pairs.append(pair) }

    /// The same names with the same values, in the same order.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
