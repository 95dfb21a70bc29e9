// Real processes for integration tests: spawn with arguments, read stdout lines with a
// deadline, wait or terminate. Every wait is bounded.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wzp::testing {

class Process {
 public:
  // With `with_stdin`, the child reads what write_line() sends; otherwise /dev/null.
  Process(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
          bool with_stdin = false) {
    int fds[2], in[2] = {-1, -1};
    if (pipe(fds) != 0) return;
    if (with_stdin && pipe(in) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      if (with_stdin) {
        dup2(in[0], STDIN_FILENO);
        close(in[1]);
      } else {
        const int null = open("/dev/null", O_RDONLY);
        dup2(null, STDIN_FILENO);
      }
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    if (with_stdin) {
      close(in[0]);
      in_ = in[1];
    }
  }
  void write_line(const std::string& line) {
    const std::string l = line + "\n";
    if (in_ >= 0) (void)!write(in_, l.data(), l.size());
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    if (in_ >= 0) close(in_);
  }
  // The next line of output, or nullopt at the deadline or at end of output.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char tmp[4096];
      const ssize_t n = read(out_, tmp, sizeof tmp);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  // Exit status, or nullopt if still running at the deadline.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      // Drain output so the child never blocks on a full pipe.
      read_line(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }
  // Exit status if the process has ended, without touching its output.
  std::optional<int> poll_exit() {
    int status = 0;
    if (exited_ || waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1, in_ = -1;
  bool exited_ = false;
  std::string buf_;
};

// A UDP (or TCP) port on 127.0.0.1 that was free a moment ago (for a process that must listen
// on a port known in advance, e.g. to be restarted on it).
inline uint16_t free_udp_port(int type = SOCK_DGRAM) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}
inline uint16_t free_tcp_port() { return free_udp_port(SOCK_STREAM); }

}  // namespace wzp::testing
