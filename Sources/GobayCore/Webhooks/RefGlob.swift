/// Shell-style globs for branch and tag filters, such as `main`, `release/*` or `feature/**`.
///
/// `*` matches any run of characters except `/`; `**` matches any run including `/`, and `**/` at the
/// start or after a `/` also matches no directories at all; `?` matches one character except `/`;
/// `[abc]`, `[a-z]` and `[!abc]` (or `[^abc]`) match one character of a class, never `/`;
/// `\` makes the next character literal. Anything else matches itself.
public enum RefGlob {
    /// Whether `name` matches `pattern` as a whole.
    public static func matches(pattern: String, name: String) -> Bool {
        let tokens = tokenize(pattern)
        let text = Array(name)
        // reach[t][n]: tokens[t...] match text[n...]. Filled from the end; patterns and names are short.
        var reach = Array(repeating: Array(repeating: false, count: text.count + 1), count: tokens.count + 1)
        reach[tokens.count][text.count] = true
        for t in stride(from: tokens.count - 1, through: 0, by: -1) {
            // For `**/`: some text[m] with m >= n is a '/' after which the rest of the pattern matches.
            var slashAhead = false
            for n in stride(from: text.count, through: 0, by: -1) {
                let next = n < text.count ? text[n] : nil
                switch tokens[t] {
                case .literal(let character):
                    reach[t][n] = next == character && reach[t + 1][n + 1]
                case .oneCharacter:
                    reach[t][n] = next != nil && next != "/" && reach[t + 1][n + 1]
                case .characterClass(let characterClass):
                    reach[t][n] = next.map { $0 != "/" && characterClass.contains($0) } == true && reach[t + 1][n + 1]
                case .star:
                    reach[t][n] = reach[t + 1][n] || (next != nil && next != "/" && reach[t][n + 1])
                case .doubleStar:
                    reach[t][n] = reach[t + 1][n] || (next != nil && reach[t][n + 1])
                case .directories:
                    // Nothing, or any run that ends with '/'.
                    slashAhead = slashAhead || (next == "/" && reach[t + 1][n + 1])
                    reach[t][n] = reach[t + 1][n] || slashAhead
                }
            }
        }
        return reach[0][0]
    }

    /// One unit of a pattern.
    enum Token: Equatable {
        /// A character that matches itself.
        case literal(Character)
        /// `?`: any one character but `/`.
        case oneCharacter
        /// `[...]`: one character of a class, never `/`.
        case characterClass(CharacterClass)
        /// `*`: any run without `/`.
        case star
        /// `**`: any run at all.
        case doubleStar
        /// `**/` at the start of the pattern or after a `/`: zero or more whole directories.
        case directories
    }

    /// A bracket expression such as `[a-z_]` or `[!0-9]`.
    struct CharacterClass: Equatable {
        /// Whether the class began with `!` or `^` and so matches what is not listed.
        var negated: Bool
        /// Characters listed one by one.
        var singles: [Character]
        /// Ranges such as `a-z`.
        var ranges: [ClosedRange<Character>]

        /// Whether `character` matches the class.
        func contains(_ character: Character) -> Bool {
            let member = singles.contains(character) || ranges.contains { $0.contains(character) }
            return member != negated
        }
    }

    /// Splits a pattern into tokens; an unclosed `[` is a literal `[`.
    static func tokenize(_ pattern: String) -> [Token] {
        let characters = Array(pattern)
        var tokens: [Token] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "*":
                if index + 1 < characters.count && characters[index + 1] == "*" {
                    let atSegmentStart = index == 0 || characters[index - 1] == "/"
                    if atSegmentStart && index + 2 < characters.count && characters[index + 2] == "/" {
                        tokens.append(.directories)
                        index += 3
                    } else {
                        tokens.append(.doubleStar)
                        index += 2
                    }
                    // Further stars add nothing.
                    while index < characters.count && characters[index] == "*" { index += 1 }
                } else {
                    tokens.append(.star)
                    index += 1
                }
            case "?":
                tokens.append(.oneCharacter)
                index += 1
            case "\\" where index + 1 < characters.count:
                tokens.append(.literal(characters[index + 1]))
                index += 2
            case "[":
                if let (characterClass, end) = parseClass(characters, from: index) {
                    tokens.append(.characterClass(characterClass))
                    index = end
                } else {
                    tokens.append(.literal("["))
                    index += 1
                }
            default:
                tokens.append(.literal(character))
                index += 1
            }
        }
        return tokens
    }

    /// The class that opens at `characters[start]` (a `[`) and the index after its `]`, or nil if unclosed.
    static func parseClass(_ characters: [Character], from start: Int) -> (CharacterClass, Int)? {
        var index = start + 1
        var result = CharacterClass(negated: false, singles: [], ranges: [])
        if index < characters.count && (characters[index] == "!" || characters[index] == "^") {
            result.negated = true
            index += 1
        }
        var first = true
        while index < characters.count {
            let character = characters[index]
            if character == "]" && !first { return (result, index + 1) }
            first = false
            if index + 2 < characters.count && characters[index + 1] == "-" && characters[index + 2] != "]" {
                let upper = characters[index + 2]
                if character <= upper { result.ranges.append(character...upper) }
                index += 3
            } else {
                result.singles.append(character)
                index += 1
            }
        }
        return nil
    }
}
