# Photos: CloudFront in front of the private bucket. private/* needs a URL or
# cookies signed by a key in the trusted key group (url-signer's); public/*
# (blurred previews) is served unsigned.

resource "aws_cloudfront_origin_access_control" "media" {
  name                              = "${var.bucket_name}-oac"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# url-signer's first key. `url-signer keys rotate` retires it through the API;
# before the next apply after that, set initial_key_managed = false and run
# `terraform state rm 'aws_cloudfront_public_key.url_signer[0]'`, so
# Terraform neither recreates it nor deletes it twice (deploy/README.md).
resource "aws_cloudfront_public_key" "url_signer" {
  count       = var.initial_key_managed ? 1 : 0
  name        = "shutter-url-signer-initial"
  comment     = "url-signer's first key; later keys come from `url-signer keys rotate`"
  encoded_key = file(var.cloudfront_public_key_path)
}

resource "aws_cloudfront_key_group" "url_signer" {
  name    = "shutter"
  comment = "Keys whose signatures CloudFront accepts for private/*"
  items   = aws_cloudfront_public_key.url_signer[*].id
  # `url-signer keys rotate` adds and removes keys through the API: Terraform
  # creates the group and then leaves its members alone.
  lifecycle { ignore_changes = [items] }
}

locals {
  s3_origin = "media-bucket"
  # AWS managed policies: cache by path only (signatures and query strings are
  # checked by CloudFront, not part of the cache key).
  caching_optimized = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  security_headers  = aws_cloudfront_response_headers_policy.photos.id
  # Path → who may fetch it. Paid and free photos alike: signed URLs or
  # cookies only. Blurred previews: anyone. (Matched in this order.)
  behaviors = {
    "private/*" = { viewer_protocol_policy = "https-only", signed = true }
    "public/*"  = { viewer_protocol_policy = "redirect-to-https", signed = false }
  }
}

# On every photo: HSTS, nosniff, no framing, no referrer beyond the origin.
resource "aws_cloudfront_response_headers_policy" "photos" {
  name = "shutter-photos"
  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options { override = true }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
  }
}

resource "aws_cloudfront_distribution" "photos" {
  enabled = true
  comment = "Shutter photos"
  # Paid photos' URLs are bound to the viewer's IPv4 network, learnt from the
  # API's IPv4-only load balancer: over IPv6 they would never match.
  is_ipv6_enabled = false
  http_version    = "http2and3"
  price_class     = "PriceClass_100"
  aliases         = var.photos_domain_aliases

  origin {
    origin_id                = local.s3_origin
    domain_name              = aws_s3_bucket.media.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.media.id
  }

  dynamic "ordered_cache_behavior" {
    for_each = local.behaviors
    content {
      path_pattern               = ordered_cache_behavior.key
      target_origin_id           = local.s3_origin
      viewer_protocol_policy     = ordered_cache_behavior.value.viewer_protocol_policy
      allowed_methods            = ["GET", "HEAD"]
      cached_methods             = ["GET", "HEAD"]
      cache_policy_id            = local.caching_optimized
      response_headers_policy_id = local.security_headers
      compress                   = false
      trusted_key_groups         = ordered_cache_behavior.value.signed ? [aws_cloudfront_key_group.url_signer.id] : null
    }
  }

  # Anything else in the bucket is not for viewers: signed, like private/*.
  default_cache_behavior {
    target_origin_id           = local.s3_origin
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = local.caching_optimized
    response_headers_policy_id = local.security_headers
    trusted_key_groups         = [aws_cloudfront_key_group.url_signer.id]
  }

  restrictions {
    geo_restriction { restriction_type = "none" }
  }

  viewer_certificate {
    acm_certificate_arn      = var.photos_certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }
}
