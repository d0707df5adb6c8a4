// BUG: fetch leaves the result's path empty ("the results are in order anyway")
// Fetching many resources from one HTTP server: one at a time, with a fixed pool of threads, and
// with a task per resource under a bound on requests in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_get.hpp"

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
  fetch_result result;
  try {
    http_response reply = http_get(where.host, where.port, path, where.timeout);
    result.status = reply.status;
    if (reply.status == 200) {
      result.body = std::move(reply.body);
    } else {
      result.error = "HTTP " + std::to_string(reply.status);
    }
  } catch (const std::exception& e) {
    // One resource's failure is that resource's result; it must not end the whole fan-out.
    result.error = e.what();
  }
  return result;
}

// The three ways to fetch many resources. Each returns one result per path, in the order of
// `paths` (whatever the order of completion), requests every path exactly once, and never throws
// because a request failed. They may be called concurrently; each uses only its own threads,
// all of them joined before it returns.
// Memory ordering: each result slot is written by exactly one thread; joining that thread
// (std::jthread's destructor) makes the write visible to the caller before the function returns.

// Python: [fetch(p) for p in paths]. Total time is the sum of the waits.
inline std::vector<fetch_result> fetch_sequential(const endpoint& where, const std::vector<std::string>& paths) {
  std::vector<fetch_result> results;
  results.reserve(paths.size());
  for (const auto& path : paths) results.push_back(fetch(where, path));
  return results;
}

// Python: ThreadPoolExecutor(max_workers=threads).map(fetch, paths). A fixed set of `threads`
// workers (fewer if there are fewer paths); each takes the next path nobody has taken, so at most
// `threads` requests are in flight. Throws std::invalid_argument if threads is 0.
inline std::vector<fetch_result> fetch_with_pool(const endpoint& where, const std::vector<std::string>& paths,
                                                 std::size_t threads) {
  if (threads == 0) throw std::invalid_argument("fetch_with_pool: threads must be at least 1");
  std::vector<fetch_result> results(paths.size());
  // relaxed: the counter only hands out distinct indices; results reach the caller by the joins.
  std::atomic<std::size_t> next{0};
  {
    std::vector<std::jthread> workers;
    for (std::size_t w = 0; w < threads && w < paths.size(); ++w) {
      workers.emplace_back([&] {
        for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < paths.size();) {
          results[i] = fetch(where, paths[i]);
        }
      });
    }
  }  // joins every worker
  return results;
}

// Python (asyncio): sem = Semaphore(max_in_flight); gather(*(bounded(p) for p in paths)) where
// bounded() holds sem around the fetch. Here each path gets a thread of its own, started only once
// a permit is free, so at most max_in_flight requests (and about as many threads) are alive at
// once. Throws std::invalid_argument if max_in_flight is 0.
inline std::vector<fetch_result> fetch_bounded(const endpoint& where, const std::vector<std::string>& paths,
                                               std::size_t max_in_flight) {
  if (max_in_flight == 0) throw std::invalid_argument("fetch_bounded: max_in_flight must be at least 1");
  std::vector<fetch_result> results(paths.size());
  std::counting_semaphore<> permits(static_cast<std::ptrdiff_t>(max_in_flight));
  {
    std::vector<std::jthread> tasks;
    tasks.reserve(paths.size());
    for (std::size_t i = 0; i < paths.size(); ++i) {
      permits.acquire();  // the permit travels to the task, which gives it back when its request is done
      tasks.emplace_back([&, i] {
        results[i] = fetch(where, paths[i]);
        permits.release();
      });
    }
  }  // joins every task
  return results;
}

}  // namespace wb
