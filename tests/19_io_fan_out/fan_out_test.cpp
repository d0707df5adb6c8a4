// Tests for the fan-out: each runs a real HTTP server on 127.0.0.1 (a small one below, in this
// file, so ThreadSanitizer sees all of it) whose handlers count the requests in flight. They
// check results per resource and in input order, errors per resource, each path requested
// once, that the bound on requests in flight is reached (the waits overlap) and never exceeded.
// How much faster the concurrent versions are is a benchmark's business, not a test's.
#include "fan_out.hpp"

#include "workbook_test.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using wb::endpoint;
using wb::fetch_result;
using wb::test::call_in_background;
using wb::test::hang_limit;

// An HTTP/1.0 server on 127.0.0.1 with a thread per connection. Paths:
//   /item/<n>      200 "item <n>"
//   /missing       404
//   /slow          waits until the server stops, then 200 (a client must give up first)
//   /gated/<n>     waits until `gate` requests are in flight at once (or at most 1 s, so a
//                  serialised client is slow but not hung), then lingers 100 ms so that a client
//                  that breaks its bound shows it, then 200 "gated <n>"
//   /reverse/<k>   waits until `reverse_total` requests are in flight, then answers in reverse
//                  order of k: k waits until every higher k has been answered
// It counts, per path, the requests it received and the most it had in flight at once.
class test_server {
 public:
  test_server() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;  // any free port
    socklen_t size = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 128) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("test_server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;
  ~test_server() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    acceptor_.join();
    std::vector<std::thread> connections;
    {
      std::lock_guard lock(mutex_);
      connections.swap(connections_);
    }
    for (auto& connection : connections) connection.join();
    ::close(listener_);
  }

  endpoint where(std::chrono::milliseconds timeout = 5s) const { return endpoint{"127.0.0.1", port_, timeout}; }
  void set_gate(int requests_at_once) {
    std::lock_guard lock(mutex_);
    gate_ = requests_at_once;
  }
  void set_reverse_total(int requests) {
    std::lock_guard lock(mutex_);
    reverse_total_ = requests;
  }
  int max_in_flight() const {
    std::lock_guard lock(mutex_);
    return max_in_flight_;
  }
  std::map<std::string, int> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void accept_loop() {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string request;
    char buffer[1024];
    while (request.find("\r\n\r\n") == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<std::size_t>(n));
    }
    // "GET /path HTTP/1.0"
    const auto first = request.find(' ');
    const auto second = request.find(' ', first + 1);
    const std::string path =
        first == std::string::npos || second == std::string::npos ? "" : request.substr(first + 1, second - first - 1);
    const auto [status, body] = respond_to(path);
    const std::string reply = fmt::format("HTTP/1.0 {} {}\r\nContent-Length: {}\r\n\r\n{}", status,
                                          status == 200 ? "OK" : "Not Found", body.size(), body);
    ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(fd);
  }

  // Runs a request's handler; the request counts as in flight from here until it returns, which
  // is before the client can see the end of its reply.
  std::pair<int, std::string> respond_to(const std::string& path) {
    std::unique_lock lock(mutex_);
    ++requests_[path];
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    changed_.notify_all();
    std::pair<int, std::string> answer{200, ""};
    if (path.rfind("/item/", 0) == 0) {
      answer.second = "item " + path.substr(6);
    } else if (path.rfind("/gated/", 0) == 0) {
      changed_.wait_for(lock, 1s, [&] { return stopping_ || in_flight_ >= gate_; });
      changed_.wait_for(lock, 100ms, [&] { return stopping_ || in_flight_ > gate_; });
      answer.second = "gated " + path.substr(7);
    } else if (path.rfind("/reverse/", 0) == 0) {
      const int k = std::stoi(path.substr(9));
      ++reverse_arrived_;  // not in_flight_: that drops again as soon as the first one is answered
      changed_.wait_for(lock, 2s, [&] { return stopping_ || reverse_arrived_ == reverse_total_; });
      changed_.wait_for(lock, 2s, [&] { return stopping_ || reverse_answered_ == reverse_total_ - 1 - k; });
      ++reverse_answered_;
      answer.second = "reverse " + path.substr(9);
    } else if (path == "/slow") {
      changed_.wait(lock, [&] { return stopping_; });
    } else {
      answer = {404, "no such resource"};
    }
    --in_flight_;
    changed_.notify_all();
    return answer;
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable changed_;       // any field below changed
  bool stopping_ = false;                 // guarded by mutex_
  int gate_ = 1;                          // guarded by mutex_
  int reverse_total_ = 1;                 // guarded by mutex_
  int reverse_arrived_ = 0;               // guarded by mutex_
  int reverse_answered_ = 0;              // guarded by mutex_
  int in_flight_ = 0;                     // guarded by mutex_
  int max_in_flight_ = 0;                 // guarded by mutex_
  std::map<std::string, int> requests_;   // guarded by mutex_
  std::vector<std::thread> connections_;  // guarded by mutex_
  std::thread acceptor_;
};

// A port on 127.0.0.1 that nothing listens on: bound, then closed again.
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), size);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::vector<std::string> numbered(const std::string& prefix, int count) {
  std::vector<std::string> paths;
  for (int i = 0; i < count; ++i) paths.push_back(prefix + std::to_string(i));
  return paths;
}

// The strategies under test, by name, so each check runs on all that it applies to.
using fan_out_fn = std::vector<fetch_result> (*)(const endpoint&, const std::vector<std::string>&, std::size_t);
struct strategy {
  const char* name;
  fan_out_fn run;
};
const strategy kConcurrent[] = {{"fetch_with_pool", &wb::fetch_with_pool}, {"fetch_bounded", &wb::fetch_bounded}};

// Runs a fan-out on a background thread so that a hang fails in words.
std::vector<fetch_result> run_bounded_in_time(const strategy& s, const endpoint& where,
                                              const std::vector<std::string>& paths, std::size_t bound) {
  return call_in_background([&] { return s.run(where, paths, bound); },
                            fmt::format("{}({} paths, bound {})", s.name, paths.size(), bound))
      .get(3 * hang_limit);
}

// Every problem with a result list: wrong length, wrong path at a place, a wrong body or error.
std::string result_problems(const std::vector<fetch_result>& results, const std::vector<std::string>& paths,
                            const std::string& body_prefix) {
  if (results.size() != paths.size()) {
    return fmt::format("returned {} results for {} paths", results.size(), paths.size());
  }
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const auto& r = results[i];
    if (r.path != paths[i]) {
      return fmt::format("result {} is for '{}', not '{}': results must come in the order of the paths, "
                         "not in the order the requests finished",
                         i, r.path, paths[i]);
    }
    const std::string body = body_prefix + paths[i].substr(paths[i].find_last_of('/') + 1);
    if (!r.ok() || r.status != 200 || r.body != body) {
      return fmt::format("result {} ('{}'): ok={} status={} body='{}' error='{}'; expected 200 '{}'", i, r.path,
                         r.ok(), r.status, r.body, r.error, body);
    }
  }
  return "";
}

// Paths requested other than exactly once.
std::string request_count_problems(const test_server& server, const std::vector<std::string>& paths) {
  auto counts = server.requests();
  std::string problems;
  for (const auto& path : paths) {
    if (counts[path] != 1) problems += fmt::format("\n  {} requested {} times", path, counts[path]);
  }
  return problems;
}

TEST(Fetch, ReturnsTheBodyOfAResourceThatExists) {
  // Given
  test_server server;
  // When
  const fetch_result r = wb::fetch(server.where(), "/item/7");
  // Then
  EXPECT_TRUE(r.ok()) << "error: " << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "item 7");
  EXPECT_EQ(r.path, "/item/7");
}

TEST(Fetch, ReportsAMissingResourceAsAnErrorWithItsStatus) {
  // Given
  test_server server;
  // When
  const fetch_result r = wb::fetch(server.where(), "/missing");
  // Then
  EXPECT_FALSE(r.ok()) << "a 404 must be an error for that resource, not a success with the 404's body";
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.error.find("404"), std::string::npos) << "the error should name the status; it was: " << r.error;
}

TEST(Fetch, GivesUpOnASlowServerAtTheTimeoutAndSaysSo) {
  // Given: a resource that answers only when the server stops
  test_server server;
  // When
  auto call = call_in_background([&] { return wb::fetch(server.where(200ms), "/slow"); },
                                 "fetch(\"/slow\") with a 200 ms timeout");
  const fetch_result r = call.get();
  // Then
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("timed out"), std::string::npos)
      << "the error should say the request timed out; it was: '" << r.error << "'";
}

TEST(Fetch, ReportsARefusedConnectionAsAnErrorInsteadOfThrowing) {
  // Given
  const endpoint nobody{"127.0.0.1", closed_port(), 1s};
  // When
  fetch_result r;
  ASSERT_NO_THROW(r = wb::fetch(nobody, "/item/1")) << "a failed request must become that resource's error";
  // Then
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.path, "/item/1");
  EXPECT_FALSE(r.error.empty());
}

TEST(FetchSequential, ReturnsEveryResultInTheOrderOfThePaths) {
  // Given
  test_server server;
  const auto paths = numbered("/item/", 6);
  // When
  const auto results = wb::fetch_sequential(server.where(), paths);
  // Then
  EXPECT_EQ(result_problems(results, paths, "item "), "");
  EXPECT_EQ(server.max_in_flight(), 1) << "fetch_sequential had several requests in flight at once";
  EXPECT_EQ(request_count_problems(server, paths), "");
}

TEST(FetchSequential, ReportsEachFailureAndStillFetchesTheRest) {
  // Given: a failure first, a timeout in the middle
  test_server server;
  const std::vector<std::string> paths{"/missing", "/item/1", "/slow", "/item/3"};
  // When
  auto call = call_in_background([&] { return wb::fetch_sequential(server.where(300ms), paths); },
                                 "fetch_sequential with one resource slower than the timeout");
  const auto results = call.get();
  // Then
  ASSERT_EQ(results.size(), paths.size()) << "one result per path, failed ones included";
  EXPECT_EQ(results[0].status, 404);
  EXPECT_FALSE(results[0].ok());
  EXPECT_EQ(results[1].body, "item 1") << "the failure before it must not stop the fan-out";
  EXPECT_NE(results[2].error.find("timed out"), std::string::npos) << "error was: " << results[2].error;
  EXPECT_EQ(results[3].body, "item 3");
}

TEST(FetchSequential, ReturnsNothingForNoPaths) {
  // Given
  test_server server;
  // When
  const auto results = wb::fetch_sequential(server.where(), {});
  // Then
  EXPECT_TRUE(results.empty());
  EXPECT_TRUE(server.requests().empty());
}

TEST(FetchConcurrently, ReachesItsBoundOfRequestsInFlightAndNeverExceedsIt) {
  for (const auto& s : kConcurrent) {
    SCOPED_TRACE(s.name);
    for (const int bound : {2, 3}) {
      // Given: requests that wait until `bound` of them are in flight together
      test_server server;
      server.set_gate(bound);
      const auto paths = numbered("/gated/", 2 * bound);
      // When
      const auto results = run_bounded_in_time(s, server.where(), paths, static_cast<std::size_t>(bound));
      // Then
      const int seen = server.max_in_flight();
      EXPECT_LE(seen, bound) << fmt::format("{} with bound {} had {} requests in flight at once: the bound is "
                                            "not enforced (a permit given back before the request ended, or "
                                            "one thread per path?)",
                                            s.name, bound, seen);
      EXPECT_GE(seen, bound) << fmt::format(
          "{} with bound {} never had more than {} request(s) in flight: the waits did not overlap "
          "(is the fetch done while holding a lock, or one at a time?)",
          s.name, bound, seen);
      EXPECT_EQ(result_problems(results, paths, "gated "), "");
      EXPECT_EQ(request_count_problems(server, paths), "");
    }
  }
}

TEST(FetchConcurrently, ReturnsResultsInThePathsOrderWhenTheyFinishInReverse) {
  for (const auto& s : kConcurrent) {
    SCOPED_TRACE(s.name);
    // Given: four requests that the server answers last-first
    test_server server;
    server.set_reverse_total(4);
    const auto paths = numbered("/reverse/", 4);
    // When
    const auto results = run_bounded_in_time(s, server.where(), paths, 4);
    // Then
    EXPECT_EQ(result_problems(results, paths, "reverse "), "");
  }
}

TEST(FetchConcurrently, RequestsEveryPathExactlyOnceWithManyPathsAndAFewThreads) {
  for (const auto& s : kConcurrent) {
    SCOPED_TRACE(s.name);
    // Given
    test_server server;
    const auto paths = numbered("/item/", 40);
    // When
    const auto results = run_bounded_in_time(s, server.where(), paths, 3);
    // Then
    EXPECT_EQ(request_count_problems(server, paths), "")
        << "each path must be taken by exactly one worker (is the next index read and advanced in two steps?)";
    EXPECT_EQ(result_problems(results, paths, "item "), "");
    EXPECT_LE(server.max_in_flight(), 3);
  }
}

TEST(FetchConcurrently, ReportsFailuresPerResourceWithoutHoldingUpTheOthers) {
  for (const auto& s : kConcurrent) {
    SCOPED_TRACE(s.name);
    // Given: a 404 and a resource slower than the timeout among good ones
    test_server server;
    const std::vector<std::string> paths{"/item/0", "/slow", "/item/2", "/missing", "/item/4", "/item/5"};
    // When
    const auto results = run_bounded_in_time(s, server.where(300ms), paths, 2);
    // Then
    ASSERT_EQ(results.size(), paths.size());
    for (const std::size_t i : {0u, 2u, 4u, 5u}) {
      EXPECT_TRUE(results[i].ok() && results[i].body == "item " + std::to_string(i))
          << fmt::format("result {}: ok={} body='{}' error='{}'", i, results[i].ok(), results[i].body, results[i].error);
    }
    EXPECT_NE(results[1].error.find("timed out"), std::string::npos) << "error was: " << results[1].error;
    EXPECT_EQ(results[3].status, 404);
    EXPECT_FALSE(results[3].ok());
  }
}

TEST(FetchConcurrently, TurnsAnUnreachableServerIntoAnErrorPerResource) {
  for (const auto& s : kConcurrent) {
    SCOPED_TRACE(s.name);
    // Given
    const endpoint nobody{"127.0.0.1", closed_port(), 1s};
    const auto paths = numbered("/item/", 5);
    // When
    const auto results = run_bounded_in_time(s, nobody, paths, 2);
    // Then
    ASSERT_EQ(results.size(), paths.size());
    for (std::size_t i = 0; i < paths.size(); ++i) {
      EXPECT_FALSE(results[i].ok()) << "result " << i << " claims success from a server that is not there";
      EXPECT_EQ(results[i].path, paths[i]);
    }
  }
}

TEST(FetchConcurrently, HandlesNoPathsAndMoreWorkersThanPaths) {
  for (const auto& s : kConcurrent) {
    SCOPED_TRACE(s.name);
    // Given
    test_server server;
    const auto paths = numbered("/item/", 2);
    // When
    const auto none = run_bounded_in_time(s, server.where(), {}, 4);
    const auto few = run_bounded_in_time(s, server.where(), paths, 16);
    // Then
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(result_problems(few, paths, "item "), "");
  }
}

TEST(FetchConcurrently, RejectsABoundOfZero) {
  for (const auto& s : kConcurrent) {
    SCOPED_TRACE(s.name);
    // Given
    test_server server;
    // When
    auto call = call_in_background([&] { return s.run(server.where(), numbered("/item/", 3), 0); },
                                   fmt::format("{} with a bound of 0", s.name));
    // Then
    EXPECT_THROW(call.get(), std::invalid_argument) << "with a bound of 0 nothing could ever be fetched";
    EXPECT_TRUE(server.requests().empty());
  }
}

}  // namespace
