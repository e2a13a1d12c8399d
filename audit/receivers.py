# Audit receivers are connected in AuditConfig.ready().
