// A minimal blocking HTTP/1.0 GET over a POSIX socket, given to the learner (topic 19_io_fan_out
// is about fanning requests out, not about parsing HTTP). Plain sockets rather than a library:
// Debian's cpp-httplib ships its code as an uninstrumented shared library, which makes
// ThreadSanitizer report races inside it that are not there.
//
//   wb::http_response r = wb::http_get("127.0.0.1", port, "/item/3", std::chrono::seconds(1));
//
// Throws wb::http_error when there is no complete response within `timeout` (measured from the
// call), the connection is refused, or the reply is not HTTP. A reply with any status, 404
// included, is a response, not an error: the caller decides what a status means.
// Thread safety: each call uses its own socket; calls may run concurrently on any threads.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace wb {

struct http_response {
  int status = 0;     // e.g. 200, 404
  std::string body;   // everything after the headers
};

class http_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// Owns a file descriptor; closes it on every path out of http_get.
class socket_fd {
 public:
  explicit socket_fd(int fd) : fd_(fd) {}
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits until fd is ready for `events` or the deadline passes (then throws, naming `what`).
inline void wait_ready(int fd, short events, std::chrono::steady_clock::time_point deadline,
                       std::chrono::milliseconds timeout, const char* what) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw http_error("timed out after " + std::to_string(timeout.count()) + " ms " + what);
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return;
    if (n < 0 && errno != EINTR) throw http_error(std::string("poll failed: ") + std::strerror(errno));
  }
}

}  // namespace detail

inline http_response http_get(const std::string& host, std::uint16_t port, const std::string& path,
                              std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + timeout;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    throw http_error("not an IPv4 address: " + host);
  }
  detail::socket_fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) throw http_error(std::string("socket failed: ") + std::strerror(errno));

  // Connect without blocking past the deadline.
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    if (errno != EINPROGRESS) throw http_error(std::string("connect failed: ") + std::strerror(errno));
    detail::wait_ready(sock.get(), POLLOUT, deadline, timeout, "connecting");
    int error = 0;
    socklen_t size = sizeof error;
    ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) throw http_error(std::string("connect failed: ") + std::strerror(error));
  }

  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(sock.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      detail::wait_ready(sock.get(), POLLOUT, deadline, timeout, "sending the request");
    } else {
      throw http_error(std::string("send failed: ") + std::strerror(errno));
    }
  }

  // HTTP/1.0: the server closes the connection after the response, so read until EOF.
  std::string reply;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(sock.get(), buffer, sizeof buffer, 0);
    if (n > 0) {
      reply.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      detail::wait_ready(sock.get(), POLLIN, deadline, timeout, "waiting for the response");
    } else {
      throw http_error(std::string("recv failed: ") + std::strerror(errno));
    }
  }

  // "HTTP/1.x 200 OK\r\n<headers>\r\n\r\n<body>"
  const auto end_of_headers = reply.find("\r\n\r\n");
  if (reply.compare(0, 5, "HTTP/") != 0 || end_of_headers == std::string::npos) {
    throw http_error("not an HTTP response (" + std::to_string(reply.size()) + " bytes)");
  }
  const auto space = reply.find(' ');
  http_response response;
  try {
    response.status = std::stoi(reply.substr(space + 1, 3));
  } catch (const std::exception&) {
    throw http_error("no status code in the response");
  }
  response.body = reply.substr(end_of_headers + 4);
  return response;
}

}  // namespace wb
