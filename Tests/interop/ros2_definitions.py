"""ROS 2 message definitions in the concatenated form MCAP schemas carry (`ros2msg`: the
message, then each dependency after a line of 80 `=` and `MSG: package/Type`), for the tests
and benchmarks that write CDR with `mcap-ros2-support`."""

SEP = "=" * 80
HEADER = [SEP, "MSG: std_msgs/Header", "builtin_interfaces/Time stamp", "string frame_id",
          SEP, "MSG: builtin_interfaces/Time", "int32 sec", "uint32 nanosec"]
IMU_DEF = "\n".join([
    "std_msgs/Header header", "geometry_msgs/Quaternion orientation", "float64[9] orientation_covariance",
    "geometry_msgs/Vector3 angular_velocity", "float64[9] angular_velocity_covariance",
    "geometry_msgs/Vector3 linear_acceleration", "float64[9] linear_acceleration_covariance",
    *HEADER,
    SEP, "MSG: geometry_msgs/Quaternion", "float64 x 0", "float64 y 0", "float64 z 0", "float64 w 1",
    SEP, "MSG: geometry_msgs/Vector3", "float64 x", "float64 y", "float64 z"])
JOINTS_DEF = "\n".join([
    "std_msgs/Header header", "string[] name", "float64[] position", "float64[] velocity", "float64[] effort",
    *HEADER])
