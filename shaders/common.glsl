// Shared by every ITS Lab compute shader: the workgroup size is specialization constant 0 and
// grids wider than 65535 groups are split over y, so one invocation id covers any n.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

uint global_id() {
  return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * gl_WorkGroupSize.x);
}
