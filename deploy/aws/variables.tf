variable "region" {
  description = "Region of the bucket and the load balancer (CloudFront is global)."
  type        = string
  default     = "eu-west-1"
}

variable "bucket_name" {
  description = "The private media bucket (S3_BUCKET)."
  type        = string
}

variable "cloudfront_public_key_path" {
  description = "url-signer's public key (public_key.pem from `url-signer keygen`)."
  type        = string
}

variable "initial_key_managed" {
  description = "Whether Terraform owns url-signer's first public key: true until `url-signer keys rotate` retires it (then see cloudfront.tf)."
  type        = bool
  default     = true
}

variable "photos_domain_aliases" {
  description = "The photos' own domain(s), e.g. [\"photos.example.com\"]: covered by photos_certificate_arn."
  type        = list(string)
  validation {
    condition     = length(var.photos_domain_aliases) > 0
    error_message = "Photos need a domain of their own: *.cloudfront.net would allow TLS 1.0."
  }
}

# Required: with CloudFront's default *.cloudfront.net certificate the
# distribution must accept TLSv1; with one's own, TLS 1.2 is the floor.
variable "photos_certificate_arn" {
  description = "ACM certificate, in us-east-1, for photos_domain_aliases."
  type        = string
  validation {
    condition     = startswith(var.photos_certificate_arn, "arn:aws:acm:us-east-1:")
    error_message = "An ACM certificate in us-east-1 (CloudFront reads certificates only there)."
  }
}

variable "vpc_id" {
  description = "VPC of the services."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the public load balancer."
  type        = list(string)
}

variable "api_certificate_arn" {
  description = "ACM certificate for the API's HTTPS listener."
  type        = string
}
