// BUG: unlock_shared() counts the reader out before taking the mutex: "a reader leaving cannot disturb anyone"
// A readers-writer lock that does not starve writers.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <system_error>

namespace wb {

// readers_writer_lock: many readers at once (lock_shared) or one writer alone (lock). Writers
// are preferred: once a writer waits, new readers wait too, so a steady stream of readers
// cannot keep a writer out for ever (a steady stream of writers can keep readers out). It is
// not recursive: a thread that holds it must not lock it again in either mode. It meets the
// standard's Lockable and SharedLockable requirements, so std::unique_lock, std::lock_guard
// and std::shared_lock work with it.
//
// Thread safety: every member may be called concurrently from any thread. The lock does not
// track owners: unlock() is refused only when no writer holds it, unlock_shared() only when no
// reader does (std::system_error, std::errc::operation_not_permitted, nothing changed).
// Lifetime: destroy it only when nobody holds it or is inside a member.
// Invariants (whenever mutex_ is free): writer_inside_ implies readers_ == 0; a thread sleeps
// on readers_turn_ only while a writer is inside or waiting, on writers_turn_ only while
// someone is inside.
// Memory ordering: everything a writer did before unlock() is visible to every thread whose
// later lock() or lock_shared() (or successful try_) returns; everything a reader did before
// unlock_shared() is visible to the next writer (all state changes under mutex_).
class readers_writer_lock {
 public:
  readers_writer_lock() = default;
  readers_writer_lock(const readers_writer_lock&) = delete;
  readers_writer_lock& operator=(const readers_writer_lock&) = delete;

  // Takes the lock for writing: waits until no reader and no other writer is inside. While it
  // waits, new readers wait as well.
  void lock() {
    std::unique_lock lock(mutex_);
    ++writers_waiting_;
    while (writer_inside_ || readers_ != 0) writers_turn_.wait(lock);
    --writers_waiting_;
    writer_inside_ = true;
  }

  // Like lock(), but never waits: returns false if anyone (reader or writer) is inside.
  bool try_lock() {
    std::lock_guard lock(mutex_);
    if (writer_inside_ || readers_ != 0) return false;
    writer_inside_ = true;
    return true;
  }

  // Gives up the write lock and wakes the next writer, or else every waiting reader. Throws
  // std::system_error (std::errc::operation_not_permitted) if no writer holds it.
  void unlock() {
    std::lock_guard lock(mutex_);
    if (!writer_inside_) refuse("unlock: no writer holds the lock");
    writer_inside_ = false;
    if (writers_waiting_ != 0) {
      writers_turn_.notify_one();  // writers first; readers would only wait again
    } else {
      readers_turn_.notify_all();  // every waiting reader may enter together
    }
  }

  // Takes the lock for reading: waits while a writer is inside or waiting.
  void lock_shared() {
    std::unique_lock lock(mutex_);
    while (writer_inside_ || writers_waiting_ != 0) readers_turn_.wait(lock);
    ++readers_;
  }

  // Like lock_shared(), but never waits: returns false if a writer is inside or waiting.
  bool try_lock_shared() {
    std::lock_guard lock(mutex_);
    if (writer_inside_ || writers_waiting_ != 0) return false;
    ++readers_;
    return true;
  }

  // Gives up one read lock; the last reader out wakes a waiting writer. Throws
  // std::system_error (std::errc::operation_not_permitted) if no reader holds it.
  void unlock_shared() {
    if (readers_ == 0) refuse("unlock_shared: no reader holds the lock");
    const bool last = --readers_ == 0;
    std::lock_guard lock(mutex_);
    if (last && writers_waiting_ != 0) writers_turn_.notify_one();
  }

 private:
  [[noreturn]] static void refuse(const char* what) {
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            std::string("readers_writer_lock::") + what);
  }

  std::mutex mutex_;
  std::condition_variable readers_turn_;  // readers wait here for no writer inside or waiting
  std::condition_variable writers_turn_;  // writers wait here for nobody inside
  int readers_ = 0;                       // guarded by mutex_: readers inside
  int writers_waiting_ = 0;               // guarded by mutex_: writers blocked in lock()
  bool writer_inside_ = false;            // guarded by mutex_
};

}  // namespace wb
