# The API's load balancer: the same routing table as deploy/nginx/routes.conf
# (photos go to CloudFront, not here; /internal/... matches no rule → 404).
# Targets are registered by the platform running the services (the AWS Load
# Balancer Controller's TargetGroupBinding on EKS, or ECS services).

locals {
  services = {
    auth  = { port = 8081 }
    post  = { port = 8082 }
    media = { port = 8083 }
  }
  # Priority → (service, path patterns). ALB patterns are exact unless they end in *.
  routes = {
    10 = { service = "auth", paths = ["/v1/auth/*", "/v1/users/me", "/.well-known/jwks.json"] }
    20 = { service = "media", paths = ["/v1/media", "/v1/media/*"] }
    30 = { service = "post", paths = ["/v1/*"] }
  }
}

resource "aws_security_group" "alb" {
  name        = "shutter-alb"
  description = "The API load balancer: HTTPS in, the services out"
  vpc_id      = var.vpc_id
  ingress {
    description = "Clients, over HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "The services targets, whose own security groups admit the ALB"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_lb" "api" {
  name               = "shutter-api"
  load_balancer_type = "application"
  # The same address family as the photo distribution (viewer-bound URLs).
  ip_address_type = "ipv4"
  subnets         = var.public_subnet_ids
  security_groups = [aws_security_group.alb.id]
  idle_timeout    = 60
  # A header the ALB cannot parse is dropped, not passed to the services.
  drop_invalid_header_fields = true
  enable_deletion_protection = true
}

resource "aws_lb_target_group" "service" {
  for_each    = local.services
  name        = "shutter-${each.key}"
  port        = each.value.port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    path    = "/readyz"
    matcher = "200"
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.api_certificate_arn
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      message_body = "{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404}"
      status_code  = "404"
    }
  }
}

resource "aws_lb_listener_rule" "route" {
  for_each     = local.routes
  listener_arn = aws_lb_listener.https.arn
  priority     = each.key
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service[each.value.service].arn
  }
  condition {
    path_pattern { values = each.value.paths }
  }
}
