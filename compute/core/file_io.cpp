#include "core/file_io.hpp"

#include "core/error.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace itslab {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what);
}

void sync_parent_dir(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

} // namespace

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::string bytes;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    bytes.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail(path, std::string("cannot read: ") + std::strerror(err));
    }
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    fail(path, "cannot create " + tmp + ": " + std::strerror(errno));
  // Leaves the old file untouched: only the temporary is removed.
  const auto give_up = [&](const std::string& what, bool fd_open) {
    const int err = errno;
    if (fd_open)
      ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, what + ": " + std::strerror(err));
  };
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR)
      give_up("cannot write " + tmp, true);
    done += n > 0 ? static_cast<size_t>(n) : 0;
  }
  if (::fsync(fd) != 0)
    give_up("cannot fsync " + tmp, true);
  if (::close(fd) != 0)
    give_up("cannot close " + tmp, false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    give_up("cannot rename " + tmp + " to " + path, false);
  sync_parent_dir(path);
}

} // namespace itslab
