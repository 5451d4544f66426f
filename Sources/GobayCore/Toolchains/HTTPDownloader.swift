import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Downloads a URL to a file, with an optional progress callback; fails on anything but a
/// complete 200 response.
final class HTTPDownloader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let destination: FileHandle
    private let progress: ((Int64, Int64?) -> Void)?
    private let done = DispatchSemaphore(value: 0)
    private var received: Int64 = 0
    private var expected: Int64?
    private var status = 0
    private var failure: Error?

    private init(destination: FileHandle, progress: ((Int64, Int64?) -> Void)?) {
        self.destination = destination
        self.progress = progress
    }

    /// Fetches `url` into memory (for small documents such as the JSON index).
    static func fetch(_ url: URL) throws -> Data {
        let tmp = NSTemporaryDirectory() + "gobay-fetch-\(UUID().uuidString)"
        defer { unlink(tmp) }
        try download(url, to: tmp, progress: nil)
        return FileManager.default.contents(atPath: tmp) ?? Data()
    }

    /// Downloads `url` to `path`, which must not exist yet.
    static func download(_ url: URL, to path: String, progress: ((Int64, Int64?) -> Void)?) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw GobayError.failure("cannot create \(path)", hint: "check free disk space and permissions")
        }
        defer { try? handle.close() }
        let downloader = HTTPDownloader(destination: handle, progress: progress)
        let session = URLSession(configuration: .ephemeral, delegate: downloader, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url)
        request.timeoutInterval = 60
        session.dataTask(with: request).resume()
        downloader.done.wait()
        if let failure = downloader.failure {
            if (failure as NSError).code == Int(ENOSPC) || "\(failure)".contains("No space left") {
                throw GobayError.failure(
                    "download of \(url.absoluteString) failed: no space left on device for \(path)",
                    hint: "free some space there (or move data_dir); nothing was installed")
            }
            throw GobayError.failure(
                "download of \(url.absoluteString) failed: \(failure.localizedDescription)",
                hint: "check the mirror URL and the network, then retry")
        }
        guard downloader.status == 200 else {
            throw GobayError.failure(
                "download of \(url.absoluteString) failed: HTTP \(downloader.status)",
                hint: "check that the mirror has this file")
        }
        if let expected = downloader.expected, expected != downloader.received {
            throw GobayError.failure(
                "download of \(url.absoluteString) was cut short: \(downloader.received) of \(expected) bytes",
                hint: "retry the install")
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        expected = response.expectedContentLength > 0 ? response.expectedContentLength : nil
        completionHandler(status == 200 ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        do {
            try destination.write(contentsOf: data)
        } catch {
            failure = error
            dataTask.cancel()
            return
        }
        received += Int64(data.count)
        progress?(received, expected)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        // No response at all (status 0: refused, unreachable, timed out) is a network failure to
        // name, not "HTTP 0"; after a 200, an error means the body was cut.
        if let error, failure == nil, status == 200 || status == 0 { failure = error }
        done.signal()
    }
}
