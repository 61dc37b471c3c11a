/// Definitions of the ROS 2 interfaces robots publish most (ros2/rcl_interfaces and
/// ros2/common_interfaces, field lists only), used when a schema names one of them without
/// carrying its text: a LiveKit track declares only a schema name, and `builtin_interfaces` is
/// defined in IDL, so no `.msg` file for it exists to put in a schemas folder.
enum ROS2CommonInterfaces {
    static let definitions: [String: String] = [
        "builtin_interfaces/Time": "int32 sec\nuint32 nanosec",
        "builtin_interfaces/Duration": "int32 sec\nuint32 nanosec",
        "std_msgs/Header": "builtin_interfaces/Time stamp\nstring frame_id",
        "std_msgs/String": "string data",
        "std_msgs/Bool": "bool data",
        "std_msgs/Int32": "int32 data",
        "std_msgs/Int64": "int64 data",
        "std_msgs/UInt32": "uint32 data",
        "std_msgs/Float32": "float32 data",
        "std_msgs/Float64": "float64 data",
        "std_msgs/Empty": "",
        "geometry_msgs/Vector3": "float64 x\nfloat64 y\nfloat64 z",
        "geometry_msgs/Point": "float64 x\nfloat64 y\nfloat64 z",
        "geometry_msgs/Quaternion": "float64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1",
        "geometry_msgs/Pose": "Point position\nQuaternion orientation",
        "geometry_msgs/PoseStamped": "std_msgs/Header header\nPose pose",
        "geometry_msgs/PoseWithCovariance": "Pose pose\nfloat64[36] covariance",
        "geometry_msgs/Twist": "Vector3 linear\nVector3 angular",
        "geometry_msgs/TwistStamped": "std_msgs/Header header\nTwist twist",
        "geometry_msgs/TwistWithCovariance": "Twist twist\nfloat64[36] covariance",
        "geometry_msgs/Accel": "Vector3 linear\nVector3 angular",
        "geometry_msgs/Transform": "Vector3 translation\nQuaternion rotation",
        "geometry_msgs/TransformStamped": "std_msgs/Header header\nstring child_frame_id\nTransform transform",
        "geometry_msgs/Wrench": "Vector3 force\nVector3 torque",
        "nav_msgs/Odometry": """
            std_msgs/Header header
            string child_frame_id
            geometry_msgs/PoseWithCovariance pose
            geometry_msgs/TwistWithCovariance twist
            """,
        "sensor_msgs/Imu": """
            std_msgs/Header header
            geometry_msgs/Quaternion orientation
            float64[9] orientation_covariance
            geometry_msgs/Vector3 angular_velocity
            float64[9] angular_velocity_covariance
            geometry_msgs/Vector3 linear_acceleration
            float64[9] linear_acceleration_covariance
            """,
        "sensor_msgs/JointState": """
            std_msgs/Header header
            string[] name
            float64[] position
            float64[] velocity
            float64[] effort
            """,
        "sensor_msgs/NavSatStatus": """
            int8 STATUS_NO_FIX =  -1
            int8 STATUS_FIX =      0
            int8 STATUS_SBAS_FIX = 1
            int8 STATUS_GBAS_FIX = 2
            int8 status
            uint16 SERVICE_GPS =     1
            uint16 SERVICE_GLONASS = 2
            uint16 SERVICE_COMPASS = 4
            uint16 SERVICE_GALILEO = 8
            uint16 service
            """,
        "sensor_msgs/NavSatFix": """
            std_msgs/Header header
            NavSatStatus status
            float64 latitude
            float64 longitude
            float64 altitude
            float64[9] position_covariance
            uint8 COVARIANCE_TYPE_UNKNOWN = 0
            uint8 COVARIANCE_TYPE_APPROXIMATED = 1
            uint8 COVARIANCE_TYPE_DIAGONAL_KNOWN = 2
            uint8 COVARIANCE_TYPE_KNOWN = 3
            uint8 position_covariance_type
            """,
        "sensor_msgs/BatteryState": """
            std_msgs/Header header
            float32 voltage
            float32 temperature
            float32 current
            float32 charge
            float32 capacity
            float32 design_capacity
            float32 percentage
            uint8 power_supply_status
            uint8 power_supply_health
            uint8 power_supply_technology
            bool present
            float32[] cell_voltage
            float32[] cell_temperature
            string location
            string serial_number
            """,
    ]
}
