// swift-tools-version:6.0
import PackageDescription

// Two executables share one library:
// - `mathesar-init`, PID 1: a fully static binary that never loads libpq, so that
//   the process that stays resident for the container's life is small (~3 MB RSS).
// - `mathesar-init-db`: the libpq helper PID 1 spawns for database work (readiness,
//   reconciliation, schema upgrades) and that `check`, `healthcheck` and `schema` exec.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "mathesar-init",
    products: [
        .executable(name: "mathesar-init", targets: ["mathesar-init"]),
        .executable(name: "mathesar-init-db", targets: ["mathesar-init-db"]),
    ],
    targets: [
        .target(name: "CSystemShims"),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "MathesarInit",
            dependencies: ["CSystemShims"],
            swiftSettings: strict
        ),
        .target(
            name: "PostgresClient",
            dependencies: ["CLibPQ"],
            swiftSettings: strict
        ),
        .target(
            name: "MathesarDB",
            dependencies: ["MathesarInit", "PostgresClient", "CLibCrypto"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "mathesar-init",
            dependencies: ["MathesarInit"],
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-static-executable", "-Xlinker", "--strip-all"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "mathesar-init-db",
            dependencies: ["MathesarDB"],
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker", "--strip-all"], .when(configuration: .release))]
        ),
        .testTarget(
            name: "MathesarInitTests",
            dependencies: ["MathesarInit", "MathesarDB"],
            swiftSettings: strict
        ),
    ]
)
