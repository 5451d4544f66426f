import Foundation
import GobayCore
import Testing

/// Masking secret values in log lines: every byte any secret covers is hidden, once per run.
@Suite("secrets: masking values in log lines")
struct SecretValuesTests {
    @Test func everyOccurrenceAndEveryOverlapIsMasked() {
        let secrets = SecretValues(["s3cret-token", "abcdef", "xabc", "cdefgh", "ünïcödé-key", "abc", ""])
        #expect(secrets.mask("token=s3cret-token and again s3cret-token.") == "token=*** and again ***.")
        // A secret that contains another, and secrets that overlap: nothing of either shows.
        #expect(secrets.mask("[xabcdefgh]") == "[***]")
        #expect(secrets.mask("abcdef") == "***")
        #expect(secrets.mask("key ünïcödé-key!") == "key ***!")
        // Shorter than four characters: not a secret worth hiding every "abc" for.
        #expect(secrets.mask("abc ab a") == "abc ab a")
        #expect(secrets.mask("") == "")
        #expect(secrets.mask("nothing here") == "nothing here")
        #expect(SecretValues([]).mask("s3cret-token") == "s3cret-token")
    }

    /// A thousand projects' secrets: each is still found, anywhere in a line.
    @Test func aThousandSecrets() {
        let values = (0..<1000).map { "webhook-secret-\($0)-\(UUID().uuidString)" }
        let secrets = SecretValues(values)
        for index in [0, 499, 999] {
            #expect(secrets.mask("push signed with \(values[index]) ok") == "push signed with *** ok")
        }
        #expect(secrets.mask(values[1] + values[2]) == "***")
        #expect(secrets.mask("webhook-secret-1- is not a secret") == "webhook-secret-1- is not a secret")
    }
}
