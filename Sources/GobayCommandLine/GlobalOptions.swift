/// `--config`, `--server` and `--json` are accepted before the subcommand too, as git and kubectl
/// accept theirs: `gobay --config ci.yml build api` means `gobay build api --config ci.yml`.
public enum GlobalOptions {
    /// Options that take a value.
    static let valued: Set<String> = ["--config", "--server"]
    /// Flags.
    static let flags: Set<String> = ["--json"]

    /// `arguments` (without argv[0]) with the global options written before the subcommand moved
    /// after it: before a `--` terminator when there is one (what follows it belongs to the command
    /// run), else at the end. Anything else is left as it is.
    public static func reorder(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if flags.contains(argument) || (valued.contains(name) && argument.contains("=")) {
                leading.append(argument)
                index += 1
            } else if valued.contains(argument), index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        var rest = Array(arguments[index...])
        guard !leading.isEmpty, let first = rest.first, !first.hasPrefix("-") else { return arguments }
        let end = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: leading, at: end)
        return rest
    }
}
