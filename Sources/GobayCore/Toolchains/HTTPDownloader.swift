import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFileSystem

/// Downloads a URL to a file or into memory with AsyncHTTPClient; fails with a `DownloadError`
/// on anything but a complete 200 response.
enum HTTPDownloader {
    /// Redirects are followed (go.dev/dl sends the files from another host). A refused connection
    /// fails at once rather than being retried until the connect timeout; a stalled body fails
    /// after a minute without bytes.
    /// The environment's proxy for `url` (`http_proxy`, `https_proxy`, `no_proxy`) is used.
    static func configuration(for url: URL) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 10, allowCycles: false),
            timeout: .init(connect: .seconds(30), read: .seconds(60)))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.proxy = ProxySettings().proxy(for: url)
        return configuration
    }

    /// The most `fetch` reads into memory (the JSON index is a few megabytes).
    static let fetchLimit = 64 << 20

    /// Fetches `url` into memory (for small documents such as the JSON index).
    static func fetch(_ url: URL) async throws -> Data {
        try await HTTPClient.withHTTPClient(configuration: configuration(for: url)) { client in
            let response = try await start(url, client: client)
            do {
                let body = try await response.body.collect(upTo: fetchLimit)
                return Data(body.readableBytesView)
            } catch {
                throw DownloadError.cutShort(
                    url: url.absoluteString, received: nil, expected: nil, reason: NetworkFailure.reason(error))
            }
        }
    }

    /// Streams `url` into a new file at `path`, calling `progress` with the bytes written so far and
    /// the announced length after each chunk.
    static func download(_ url: URL, to path: String, progress: (@Sendable (Int64, Int64?) -> Void)?) async throws {
        try await HTTPClient.withHTTPClient(configuration: configuration(for: url)) { client in
            let response = try await start(url, client: client)
            let expected = response.headers.first(name: "content-length").flatMap { Int64($0) }
            let received = try await write(response.body, to: path, url: url, expected: expected, progress: progress)
            if let expected, expected != received {
                throw DownloadError.cutShort(
                    url: url.absoluteString, received: received, expected: expected, reason: nil)
            }
        }
    }

    /// Sends the request; no answer at all is `unreachable`, an answer other than 200 is `status`.
    private static func start(_ url: URL, client: HTTPClient) async throws -> HTTPClientResponse {
        let request = HTTPClientRequest(url: url.absoluteString)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .distantFuture)
        } catch {
            throw DownloadError.unreachable(url: url.absoluteString, reason: NetworkFailure.reason(error))
        }
        guard response.status == .ok else {
            throw DownloadError.status(url: url.absoluteString, code: Int(response.status.code))
        }
        return response
    }

    /// Writes the body chunk by chunk; a failure to read is a cut, a failure to write is the disk's.
    private static func write(
        _ body: HTTPClientResponse.Body, to path: String, url: URL, expected: Int64?,
        progress: (@Sendable (Int64, Int64?) -> Void)?
    ) async throws -> Int64 {
        do {
            return try await FileSystem.shared.withFileHandle(
                forWritingAt: FilePath(path), options: .newFile(replaceExisting: false)
            ) { file in
                var writer = file.bufferedWriter()
                var received: Int64 = 0
                var chunks = body.makeAsyncIterator()
                while true {
                    let chunk: ByteBuffer?
                    do {
                        chunk = try await chunks.next()
                    } catch {
                        throw DownloadError.cutShort(
                            url: url.absoluteString, received: received, expected: expected,
                            reason: NetworkFailure.reason(error))
                    }
                    guard let chunk else { break }
                    try await writer.write(contentsOf: chunk)
                    received += Int64(chunk.readableBytes)
                    progress?(received, expected)
                }
                try await writer.flush()
                return received
            }
        } catch let error as FileSystemError {
            throw DownloadError(writing: path, url: url.absoluteString, error)
        }
    }
}
