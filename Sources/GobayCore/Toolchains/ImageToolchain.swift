import Foundation

/// The Go inside a docker image (`toolchain: image`), at /usr/local/go as in the golang images.
/// Its version is read once per image id by running the image's `go version`, then cached.
struct ImageToolchain {
    let store: ToolchainStore

    func resolve(image: String) throws -> Toolchain {
        let id: String
        do {
            id = try Docker.run(["image", "inspect", "--format", "{{.Id}}", image])
        } catch let error as DockerError {
            throw GobayError(
                "docker image \(image) is not available: \(error.stderr)",
                hint: "pull or import it first (docker pull \(image))")
        }
        let cache = store.root + "/images/" + id.replacingOccurrences(of: ":", with: "-")
        if let text = try? String(contentsOfFile: cache, encoding: .utf8), let version = GoVersion(text), version.patch != nil {
            return Toolchain(version: version.description, goroot: Environment.isolatedGoroot, source: "image")
        }
        let output: String
        do {
            output = try Docker.run(["run", "--rm", "--network", "none", "--entrypoint", Environment.isolatedGoroot + "/bin/go", image, "version"])
        } catch let error as DockerError {
            throw GobayError(
                "image \(image) has no Go at \(Environment.isolatedGoroot): \(error.stderr)",
                hint: "use a golang image, or set toolchain: mount")
        }
        let words = output.split(separator: " ")
        guard words.count >= 3, let version = GoVersion(String(words[2])), version.patch != nil else {
            throw GobayError.failure("cannot read the Go version of image \(image) from \"\(output)\"")
        }
        try AtomicFile.write(Data(version.description.utf8), to: cache)
        return Toolchain(version: version.description, goroot: Environment.isolatedGoroot, source: "image")
    }
}
