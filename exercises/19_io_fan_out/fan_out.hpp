// Fetching many resources from one HTTP server: one at a time, with a fixed pool of threads, and
// with a task per resource under a bound on requests in flight.
// Background and interview questions: notes/19_io_fan_out.md
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "http_get.hpp"  // wb::http_get, given: a blocking GET with a timeout; throws wb::http_error
#include "workbook_todo.hpp"

namespace wb {

// Where the resources live, and how long one request may take from connect to last byte.
struct endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::chrono::milliseconds timeout{1000};
};

// What happened to one resource. Exactly one of two cases: ok() and body holds the reply to a
// 200, or error says in words what went wrong ("HTTP 404", "timed out after 200 ms ...",
// "connect failed: Connection refused"); status is the HTTP status, 0 if no reply arrived.
struct fetch_result {
  std::string path;
  int status = 0;
  std::string body;
  std::string error;
  bool ok() const { return error.empty(); }
};

// Fetches one resource with http_get. Never throws for a failed request: a timeout, a refused
// connection, a broken reply or a status other than 200 becomes the result's error.
inline fetch_result fetch(const endpoint& where, const std::string& path) {
  // TODO: call http_get(where.host, where.port, path, where.timeout); a 200 fills body, any other
  // status becomes the error "HTTP <status>"; catch what http_get throws into error.
  WB_TODO("fetch", where, path);
}

// The three ways to fetch many resources. Each returns one result per path, in the order of
// `paths` (whatever the order of completion), requests every path exactly once, and never throws
// because a request failed. They may be called concurrently; each uses only its own threads,
// all of them joined before it returns.

// Python: [fetch(p) for p in paths]. Total time is the sum of the waits.
inline std::vector<fetch_result> fetch_sequential(const endpoint& where, const std::vector<std::string>& paths) {
  // TODO: fetch each path in turn.
  WB_TODO("fetch_sequential", where, paths);
}

// Python: ThreadPoolExecutor(max_workers=threads).map(fetch, paths). A fixed set of `threads`
// workers (fewer if there are fewer paths); each takes the next path nobody has taken, so at most
// `threads` requests are in flight. Throws std::invalid_argument if threads is 0.
inline std::vector<fetch_result> fetch_with_pool(const endpoint& where, const std::vector<std::string>& paths,
                                                 std::size_t threads) {
  // TODO: a result slot per path; `threads` std::jthread workers that claim indices from one
  // std::atomic counter until none are left; every worker joined before returning.
  WB_TODO("fetch_with_pool", where, paths, threads);
}

// Python (asyncio): sem = Semaphore(max_in_flight); gather(*(bounded(p) for p in paths)) where
// bounded() holds sem around the fetch. Here each path gets a thread of its own, started only once
// a permit is free, so at most max_in_flight requests (and about as many threads) are alive at
// once. Throws std::invalid_argument if max_in_flight is 0.
inline std::vector<fetch_result> fetch_bounded(const endpoint& where, const std::vector<std::string>& paths,
                                               std::size_t max_in_flight) {
  // TODO: a std::counting_semaphore with max_in_flight permits; take a permit, then start a thread
  // that fetches into its slot and gives the permit back when its request has ended.
  WB_TODO("fetch_bounded", where, paths, max_in_flight);
}

}  // namespace wb
