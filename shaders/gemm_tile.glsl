// Matrix product C[m, p] = Σ_k A[m, k]·B[k, p] (m < M, p < N, k < K) with A the weights `w`
// [M, K] row-major (nn.Linear's and Conv2d's layout), in one of two kernels:
//
// - the shared-memory tile (GPUs): a workgroup computes a BM × BN tile of C; the K loop runs in
//   BK-deep slabs staged in shared memory, and each invocation keeps a TM × TN register tile
//   (rows ty·TM + i, columns tx + j·BN/TN, so neighbouring invocations read neighbouring shared
//   words). Workgroup size (BM/TM)·(BN/TN).
// - LANES (CPU-type devices such as lavapipe, where shared memory and every load whose address
//   differs between SIMD lanes are slow): each invocation keeps TM × TN outputs in registers
//   (TM rows of A shared by the workgroup, TN columns of its own); lane l of a subgroup loads
//   A[m, k0 + l] (when VEC4: A[m0 + l, k .. k + 3], a float4 of row l) and subgroupShuffle hands
//   each value to all lanes, so one load per lane serves a whole subgroup. BM = TM,
//   BN = TN·workgroup size. It needs full subgroups: a workgroup size that is a multiple of the
//   subgroup size (SG, known to the host), on a device that fills them (lavapipe does; GPUs use
//   the shared-memory kernel by default).
//
// The host dispatches one workgroup per BM × BN tile, tiles along M fastest. The including
// shader declares `w` (the shared-memory kernel reads it), defines GEMM_M, GEMM_N, GEMM_K,
//   float load_a(uint i), vec4 load_a4(uint i4)  // w[i], and w[4·i4 .. 4·i4 + 3] (LANES only)
// a struct BCol and
//   BCol b_col(uint p)                    // what column p's loads need (its divisions, once)
//   float load_b(uint k, BCol c)          // B[k, p] for k < K, c = b_col(p), p < N
//   vec4 load_b4(uint k, BCol c)          // B[k .. k + 3, p] for k % 4 = 0 (VEC4 only)
//   float load_m(uint m)                  // row m's epilogue value (its bias), m < M
//   void store_c(uint m, uint p, float c, float bm) // the epilogue (bias bm, activation, layout)
// optionally (LANES only) HAS_STORE_C4, a bool STORE_C4 (true when M % 4 = 0) and
//   void store_c4(uint m, uint p, vec4 c, vec4 bm) // rows m .. m + 3 of column p at once
// and B_K_CONTIGUOUS: true when B[k, p] and B[k + 1, p] are neighbours in memory (a GEMM's x),
// false when B[k, p] and B[k, p + 1] are (a convolution's image rows), so slab loads read
// memory in order. In both kernels every C[m, p] sums its K products in order k = 0, 1, ...,
// one fused multiply-add each, so the kernels, tile shapes and row chunks give the same bits.
layout(constant_id = 2) const uint BM = 64;
layout(constant_id = 3) const uint BN = 64;
layout(constant_id = 4) const uint BK = 16;
layout(constant_id = 5) const uint TM = 4;
layout(constant_id = 6) const uint TN = 4;
layout(constant_id = 7) const bool VEC4 = false; // K % 4 = 0: the LANES kernel loads float4s
layout(constant_id = 8) const uint SG = 8;        // gl_SubgroupSize, known to the host (LANES only)

#ifdef LANES
#extension GL_KHR_shader_subgroup_shuffle : require

void main() {
  const uint WG = gl_WorkGroupSize.x;
  const uint tiles_m = (GEMM_M + TM - 1u) / TM;
  const uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  const uint tn = group / tiles_m;
  const uint m0 = (group - tn * tiles_m) * TM, p0 = tn * WG * TN;
  if (p0 >= GEMM_N) return; // the grid's padding: whole workgroups, so subgroups stay full
  // columns past N repeat the last one (computed, never stored): every lane takes part
  BCol cols[TN];
  for (uint j = 0u; j < TN; ++j) cols[j] = b_col(min(p0 + gl_LocalInvocationIndex + j * WG, GEMM_N - 1u));
  const uint sg = gl_SubgroupSize, lane = gl_SubgroupInvocationID;
  float acc[TM * TN];
  for (uint i = 0u; i < TM * TN; ++i) acc[i] = 0.0;
  if (VEC4) {
    // lane l loads rows m0 + l, m0 + l + SG, ... (a float4 of 4 k's each; lavapipe loads a
    // vector in one visit per lane) and a shuffle by a constant lane hands each row's value to
    // every lane: TM / SG vectors live across the loop instead of TM, and one loop level
    const uint RA = (TM + SG - 1u) / SG;
    for (uint k = 0u; k < GEMM_K; k += 4u) {
      vec4 a[RA], b[TN];
      for (uint r = 0u; r < RA; ++r) a[r] = load_a4((min(m0 + r * SG + lane, GEMM_M - 1u) * GEMM_K + k) / 4u);
      for (uint j = 0u; j < TN; ++j) b[j] = load_b4(k, cols[j]);
      for (uint q = 0u; q < 4u; ++q)
        for (uint i = 0u; i < TM; ++i) {
          const float ai = subgroupShuffle(a[i / SG][q], i % SG);
          for (uint j = 0u; j < TN; ++j) acc[i * TN + j] = fma(ai, b[j][q], acc[i * TN + j]);
        }
    }
  } else {
    for (uint k0 = 0u; k0 < GEMM_K; k0 += sg) {
      float a[TM];
      const uint ka = k0 + lane;
      for (uint i = 0u; i < TM; ++i) a[i] = ka < GEMM_K && m0 + i < GEMM_M ? load_a((m0 + i) * GEMM_K + ka) : 0.0;
      const uint kn = min(sg, GEMM_K - k0);
      for (uint kk = 0u; kk < kn; ++kk) {
        float b[TN];
        for (uint j = 0u; j < TN; ++j) b[j] = load_b(k0 + kk, cols[j]);
        for (uint i = 0u; i < TM; ++i) {
          const float ai = subgroupShuffle(a[i], kk);
          for (uint j = 0u; j < TN; ++j) acc[i * TN + j] = fma(ai, b[j], acc[i * TN + j]);
        }
      }
    }
  }
  // the rows' epilogue values: lane l loads rows m0 + l, m0 + l + SG, ... and a shuffle hands each
  // row's value to every lane, where a storage-buffer load per row is a loop over the lanes (the
  // bench's 3×256 MLP: 6-9% less CPU time on lavapipe)
  float mv[(TM + SG - 1u) / SG], bm[TM];
  for (uint r = 0u; r < (TM + SG - 1u) / SG; ++r) mv[r] = load_m(min(m0 + r * SG + lane, GEMM_M - 1u));
  for (uint i = 0u; i < TM; ++i) bm[i] = subgroupShuffle(mv[i / SG], i % SG);
#ifdef HAS_STORE_C4
  if (STORE_C4) {
    for (uint i = 0u; i < TM; i += 4u)
      for (uint j = 0u; j < TN; ++j) {
        const uint p = p0 + gl_LocalInvocationIndex + j * WG;
        if (m0 + i < GEMM_M && p < GEMM_N)
          store_c4(m0 + i, p, vec4(acc[i * TN + j], acc[(i + 1u) * TN + j], acc[(i + 2u) * TN + j], acc[(i + 3u) * TN + j]),
                   vec4(bm[i], bm[i + 1u], bm[i + 2u], bm[i + 3u]));
      }
    return;
  }
#endif
  for (uint i = 0u; i < TM; ++i)
    for (uint j = 0u; j < TN; ++j) {
      const uint p = p0 + gl_LocalInvocationIndex + j * WG;
      if (m0 + i < GEMM_M && p < GEMM_N) store_c(m0 + i, p, acc[i * TN + j], bm[i]);
    }
}
#else
shared float As[BK * BM]; // As[kk·BM + mm] = A[m0 + mm, k0 + kk]
shared float Bs[BK * BN]; // Bs[kk·BN + pp] = B[k0 + kk, p0 + pp]

void main() {
  const uint WG = (BM / TM) * (BN / TN);
  const uint tiles_m = (GEMM_M + BM - 1u) / BM;
  const uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  const uint tn = group / tiles_m;
  const uint m0 = (group - tn * tiles_m) * BM, p0 = tn * BN;
  if (p0 >= GEMM_N) return; // the grid's padding (whole workgroups, so no barrier is skipped)
  const uint lid = gl_LocalInvocationIndex;
  const uint tx = lid % (BN / TN), ty = lid / (BN / TN);
  float acc[TM * TN];
  for (uint i = 0u; i < TM * TN; ++i) acc[i] = 0.0;
  for (uint k0 = 0u; k0 < GEMM_K; k0 += BK) {
    for (uint e = lid; e < BK * BM; e += WG) {
      const uint mm = e / BK, kk = e - mm * BK; // A rows are contiguous in k
      const uint m = m0 + mm, k = k0 + kk;
      As[kk * BM + mm] = m < GEMM_M && k < GEMM_K ? w[m * GEMM_K + k] : 0.0;
    }
    for (uint e = lid; e < BK * BN; e += WG) {
      uint kk, pp;
      if (B_K_CONTIGUOUS) {
        pp = e / BK;
        kk = e - pp * BK;
      } else {
        kk = e / BN;
        pp = e - kk * BN;
      }
      const uint p = p0 + pp, k = k0 + kk;
      Bs[kk * BN + pp] = p < GEMM_N && k < GEMM_K ? load_b(k, b_col(p)) : 0.0;
    }
    barrier();
    const uint kn = min(BK, GEMM_K - k0);
    for (uint kk = 0u; kk < kn; ++kk) {
      float a[TM], b[TN];
      for (uint i = 0u; i < TM; ++i) a[i] = As[kk * BM + ty * TM + i];
      for (uint j = 0u; j < TN; ++j) b[j] = Bs[kk * BN + tx + j * (BN / TN)];
      for (uint i = 0u; i < TM; ++i)
        for (uint j = 0u; j < TN; ++j) acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
    }
    barrier();
  }
  for (uint i = 0u; i < TM; ++i) {
    const uint m = m0 + ty * TM + i;
    if (m >= GEMM_M) break;
    for (uint j = 0u; j < TN; ++j) {
      const uint p = p0 + tx + j * (BN / TN);
      if (p < GEMM_N) store_c(m, p, acc[i * TN + j], load_m(m));
    }
  }
}
#endif
