#include "store/remote/object_store.h"

#include <cstdlib>

#include "store/remote/aws_config.h"
#include "store/remote/file_object_store.h"
#include "store/remote/s3_object_store.h"

namespace ferry::store {

Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& url, HttpClient& http) {
  if (url.rfind("file://", 0) == 0) {
    std::string path = url.substr(7);
    if (path.empty() || path[0] != '/') {
      return Status::Usage("file:// store URL must name an absolute path (file:///dir): " + url);
    }
    return std::unique_ptr<ObjectStore>(std::make_unique<FileObjectStore>(path));
  }
  if (url.rfind("s3://", 0) == 0) {
    S3Options opts;
    FERRY_RETURN_IF_ERROR(ParseS3Url(url, &opts.bucket, &opts.prefix));
    const char* home = std::getenv("HOME");
    FERRY_ASSIGN_OR_RETURN(opts.config, LoadAwsConfig(ProcessEnv(), home ? home : ""));
    return std::unique_ptr<ObjectStore>(std::make_unique<S3ObjectStore>(std::move(opts), http));
  }
  return Status::Usage("unsupported store URL '" + url +
                       "' (use file:///path or s3://bucket/prefix)");
}

}  // namespace ferry::store
