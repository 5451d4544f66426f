/// The dashboard's pages, the one place their paths are spelled (commit statuses link to them,
/// the dashboard redirects to them).
public enum DashboardURL {
    /// A build's page.
    public static func build(_ id: Int64) -> String { "/builds/" + String(id) }
    /// The deployments page.
    public static let deployments = "/deployments"
}
