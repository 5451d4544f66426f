import Foundation

// The JSON of `--json` and the API writes times as RFC 3339 with milliseconds (`Timestamp`),
// whatever the encoder's date strategy.

extension StepRecord {
    /// Decodes a step from JSON.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        status = try c.decode(StepStatus.self, forKey: .status)
        startedAt = try c.decodeTimestamp(forKey: .startedAt)
        finishedAt = try c.decodeTimestampIfPresent(forKey: .finishedAt)
    }

    /// Encodes a step as JSON.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(status, forKey: .status)
        try c.encode(Timestamp.string(startedAt), forKey: .startedAt)
        try c.encodeIfPresent(finishedAt.map(Timestamp.string), forKey: .finishedAt)
    }
}

extension BuildRecord {
    /// Decodes a build from JSON.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int64.self, forKey: .id)
        project = try c.decode(String.self, forKey: .project)
        // An unplanned build was written with "" by earlier gobay versions.
        environment = try c.decodeIfPresent(String.self, forKey: .environment).flatMap { $0.isEmpty ? nil : $0 }
        goVersion = try c.decodeIfPresent(String.self, forKey: .goVersion).flatMap { $0.isEmpty ? nil : $0 }
        commit = try c.decode(String.self, forKey: .commit)
        ref = try c.decode(String.self, forKey: .ref)
        status = try c.decode(BuildStatus.self, forKey: .status)
        createdAt = try c.decodeTimestamp(forKey: .createdAt)
        startedAt = try c.decodeTimestampIfPresent(forKey: .startedAt)
        finishedAt = try c.decodeTimestampIfPresent(forKey: .finishedAt)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        artifacts = try c.decode([ArtifactRecord].self, forKey: .artifacts)
        steps = try c.decode([StepRecord].self, forKey: .steps)
        trigger = try c.decodeIfPresent(Trigger.self, forKey: .trigger) ?? .cli
        retryOf = try c.decodeIfPresent(Int64.self, forKey: .retryOf)
        tests = try c.decodeIfPresent(TestSummary.self, forKey: .tests)
        libraries = try c.decodeIfPresent([String: String].self, forKey: .libraries)
        cause = try c.decodeIfPresent(LibraryCause.self, forKey: .cause)
    }

    /// Encodes a build as JSON.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(project, forKey: .project)
        try c.encodeIfPresent(environment, forKey: .environment)
        try c.encodeIfPresent(goVersion, forKey: .goVersion)
        try c.encode(commit, forKey: .commit)
        try c.encode(ref, forKey: .ref)
        try c.encode(status, forKey: .status)
        try c.encode(Timestamp.string(createdAt), forKey: .createdAt)
        try c.encodeIfPresent(startedAt.map(Timestamp.string), forKey: .startedAt)
        try c.encodeIfPresent(finishedAt.map(Timestamp.string), forKey: .finishedAt)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encode(artifacts, forKey: .artifacts)
        try c.encode(steps, forKey: .steps)
        try c.encode(trigger, forKey: .trigger)
        try c.encodeIfPresent(retryOf, forKey: .retryOf)
        try c.encodeIfPresent(tests, forKey: .tests)
        try c.encode(libraries ?? [:], forKey: .libraries)
        try c.encodeIfPresent(cause, forKey: .cause)
    }
}

extension KeyedDecodingContainer {
    /// An RFC 3339 time (`Timestamp`), or a decoding error naming the key.
    func decodeTimestamp(forKey key: Key) throws -> Date {
        let text = try decode(String.self, forKey: key)
        guard let date = Timestamp.date(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "\"\(text)\" is not an RFC 3339 time")
        }
        return date
    }

    /// An RFC 3339 time when the key is there and not null.
    func decodeTimestampIfPresent(forKey key: Key) throws -> Date? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeTimestamp(forKey: key)
    }
}
