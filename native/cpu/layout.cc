// The strided copy that implements permute, broadcastTo, slice, pad and concat.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"
#include "nditer.h"

namespace gr {
namespace {

template <class E>
void copy_t(int r, const long* shape, const E* src, const long* sst, E* dst, const long* dstStrides) {
  const long* strides[2] = {dstStrides, sst};
  NdIter<2> it;
  it.init(r, shape, strides);
  parallel_for(it.size(), EW_GRAIN, [&](long lo, long hi) {
    it.runs(lo, hi, [&](const long* off, const long* in, long len) {
      E* d = dst + off[0];
      const E* s = src + off[1];
      if (in[0] == 1 && in[1] == 1) std::memcpy(d, s, len * sizeof(E));
      else if (in[1] == 0) {
        const E v = *s;
        for (long i = 0; i < len; i++) d[i * in[0]] = v;
      } else
        for (long i = 0; i < len; i++) d[i * in[0]] = s[i * in[1]];
    });
  });
}

}  // namespace

void k_copy(int esize, int r, const long* shape, const void* src, const long* sst, void* dst, const long* dstStrides) {
  if (esize == 8)
    copy_t(r, shape, static_cast<const uint64_t*>(src), sst, static_cast<uint64_t*>(dst), dstStrides);
  else
    copy_t(r, shape, static_cast<const uint32_t*>(src), sst, static_cast<uint32_t*>(dst), dstStrides);
}

}  // namespace gr
