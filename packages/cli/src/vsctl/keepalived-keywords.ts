/**
 * keepalived.conf's keywords per block (keepalived.conf(5), keepalived 2.x), so the importer can tell a keyword it
 * knows but does not import from a typo, and hint at the keyword meant. A fact list, not keepalived's parser.
 */
const words = (s: string): readonly string[] => s.trim().split(/\s+/);

export const TOP_LEVEL = words(`
  global_defs include vrrp_script vrrp_track_process vrrp_track_file track_file vrrp_track_bfd track_bfd vrrp_instance
  vrrp_sync_group virtual_server virtual_server_group static_ipaddress static_routes static_rules linkbeat_interfaces
  garp_group net_namespace net_namespace_ipvs instance use_pid_dir bfd_instance`);

export const GLOBAL_DEFS = words(`
  router_id notification_email notification_email_from smtp_server smtp_helo_name smtp_connect_timeout smtp_alert
  smtp_alert_vrrp smtp_alert_checker checker_log_all_failures email_faults no_email_faults default_interface
  dynamic_interfaces lvs_timeouts lvs_flush lvs_flush_onstop lvs_sync_daemon vrrp_mcast_group4 vrrp_mcast_group6
  vrrp_garp_master_delay vrrp_garp_master_repeat vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat
  vrrp_garp_interval vrrp_gna_interval vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat vrrp_lower_prio_no_advert
  vrrp_higher_prio_send_advert vrrp_version vrrp_iptables vrrp_ipsets vrrp_nftables vrrp_nftables_priority
  vrrp_nftables_ifindex vrrp_check_unicast_src vrrp_skip_check_adv_addr vrrp_strict vrrp_priority checker_priority
  bfd_priority vrrp_no_swap checker_no_swap bfd_no_swap vrrp_rt_priority checker_rt_priority bfd_rt_priority
  vrrp_rlimit_rttime checker_rlimit_rttime bfd_rlimit_rttime vrrp_notify_fifo vrrp_notify_fifo_script
  lvs_notify_fifo lvs_notify_fifo_script notify_fifo notify_fifo_script script_user enable_script_security
  process_names process_name vrrp_process_name checker_process_name bfd_process_name snmp_socket enable_snmp_vrrp
  enable_snmp_keepalived enable_snmp_checker enable_snmp_rfc enable_snmp_rfcv2 enable_snmp_rfcv3 enable_traps
  enable_dbus dbus_service_name vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs
  vrrp_netlink_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force
  lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force rs_init_notifies no_checker_emails vrrp_startup_delay
  log_unknown_vrrids random_seed vrrp_min_garp vrrp_dont_track_primary script_user max_auto_priority
  min_auto_priority_delay vrrp_owner_ignore_priority umask startup_script startup_script_timeout shutdown_script
  shutdown_script_timeout local_name instance network_namespace_ipvs`);

export const VRRP_INSTANCE = words(`
  state interface use_vmac vmac_xmit_base no_accept accept skip_check_adv_addr strict_mode dont_track_primary
  track_interface track_script track_process track_file track_bfd mcast_src_ip unicast_src_ip unicast_peer
  unicast_fault_no_peer unicast_ttl version virtual_router_id priority advert_int authentication virtual_ipaddress
  virtual_ipaddress_excluded virtual_routes virtual_rules nopreempt preempt preempt_delay garp_master_delay
  garp_master_repeat garp_master_refresh garp_master_refresh_repeat garp_interval gna_interval garp_lower_prio_delay
  garp_lower_prio_repeat lower_prio_no_advert higher_prio_send_advert notify_master notify_backup notify_fault
  notify_stop notify_deleted notify notify_master_rx_lower_pri smtp_alert kernel_rx_buf_size debug
  lvs_sync_daemon_interface linkbeat_use_polling v3_checksum_as_v2 old_unicast_checksum vrrp_ipsets ipsets
  native_ipv6 check_unicast_src mcast_dst_ip notify_priority_changes`);

export const VRRP_SCRIPT = words('script interval timeout weight rise fall user init_fail');

export const VRRP_SYNC_GROUP = words(`
  group notify_master notify_backup notify_fault notify_stop notify smtp_alert global_tracking sync_group_tracking_weight
  track_interface track_script track_process track_file track_bfd`);

export const VIRTUAL_SERVER = words(`
  delay_loop lb_algo lvs_sched lb_kind lvs_method persistence_timeout persistence_granularity persistence_engine
  protocol ha_suspend virtualhost sorry_server sorry_server_inhibit sorry_server_lvs_method real_server quorum
  quorum_up quorum_down hysteresis alpha omega inhibit_on_failure retry delay_before_retry warmup connect_timeout
  ops sh-port sh-fallback mh-port mh-fallback flag-1 flag-2 flag-3 ip_family smtp_alert lthreshold uthreshold
  tunnel_type virtualhost notify_up notify_down`);

export const REAL_SERVER = words(`
  weight lthreshold uthreshold inhibit_on_failure notify_up notify_down smtp_alert delay_loop connect_timeout retry
  delay_before_retry warmup alpha lvs_method lb_kind virtualhost HTTP_GET SSL_GET TCP_CHECK SMTP_CHECK DNS_CHECK
  MISC_CHECK BFD_CHECK UDP_CHECK PING_CHECK FILE_CHECK`);

/** Checkers vsd runs itself. */
export const SUPPORTED_CHECKS = words('TCP_CHECK HTTP_GET SSL_GET MISC_CHECK');
/** Checkers keepalived has and vsd does not. */
export const UNSUPPORTED_CHECKS = words('SMTP_CHECK DNS_CHECK BFD_CHECK UDP_CHECK PING_CHECK FILE_CHECK');

export const CHECKER = words(`
  connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry nb_get_retry delay_before_retry
  delay_loop warmup url virtualhost sni_name enable_sni tls_compliant protocol fast_recovery close_timeout
  misc_path misc_timeout misc_dynamic user helo_name host type name require_reply payload min_reply_length
  max_reply_length require_reply dump log_all_failures alpha ping_type send recv file weight reverse
  http_protocol`);

export const URL_BLOCK = words('path digest status_code virtualhost regex regex_no_match regex_options regex_stack regex_min_offset regex_max_offset');
