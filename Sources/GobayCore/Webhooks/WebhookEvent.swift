/// What a webhook asks gobay to do, once parsed.
public enum WebhookEvent: Sendable, Equatable {
    /// A branch or tag was pushed, created or deleted.
    case push(PushEvent)
    /// An event gobay does not act on, with a reason a person can read in the response or log.
    case ignored(String)
}
