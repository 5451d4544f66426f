// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "gobay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "gobay", targets: ["gobay"]),
        .library(name: "GobayCore", targets: ["GobayCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "CGobay"),
        .target(
            name: "GobayCore",
            dependencies: [
                "CGobay",
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "gobay",
            dependencies: [
                "GobayCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .target(
            name: "GobayTesting",
            dependencies: ["GobayCore"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(
            name: "GobayCoreTests",
            dependencies: ["GobayCore", "GobayTesting"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
