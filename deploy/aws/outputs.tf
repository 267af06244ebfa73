output "photos_domain" {
  description = "SIGNER_ALLOWED_HOSTS for url-signer; PHOTO_BASE_URL is https://<this>."
  value       = aws_cloudfront_distribution.photos.domain_name
}

output "distribution_id" {
  description = "CLOUDFRONT_DISTRIBUTION_ID for media (takedown invalidations)."
  value       = aws_cloudfront_distribution.photos.id
}

output "initial_key_id" {
  description = "The CloudFront key id of url-signer's first key (its entry in the key manifest)."
  value       = aws_cloudfront_public_key.url_signer.id
}

output "key_group" {
  description = "The key group `url-signer keys rotate --key-group` maintains."
  value       = aws_cloudfront_key_group.url_signer.name
}

output "api_load_balancer" {
  value = aws_lb.api.dns_name
}

output "target_groups" {
  description = "Register the services' pods or tasks here."
  value       = { for name, group in aws_lb_target_group.service : name => group.arn }
}
